"""Label lists shipped with mnv3-sdk (installed as ``mnv3_sdk.models``)."""
