"""EmulatedAndroid: Android devices played on this host at adb's wire protocol, for the real adb.

No phone or emulator is reachable here, so the device tests start one ``adbd.py`` process per
emulated phone, listening on a loopback port, and drive it with Debian's real ``adb`` client and
server (``adb -P PORT connect 127.0.0.1:DEVPORT``), exactly as a phone connected over Wi-Fi
debugging is driven. ``adbd.py`` speaks the transport protocol (CNXN/AUTH/OPEN/OKAY/WRTE/CLSE),
the ``shell,v2`` and ``shell:`` services, ``exec:`` and ``sync:``, written from adb's own
protocol documents (cited there); ``phone.py`` is what runs behind them: the commands mnv3-sdk's
device harness sends, answered as Android answers them.
"""
