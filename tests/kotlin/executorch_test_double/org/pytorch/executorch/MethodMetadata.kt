// TEST DOUBLE of ExecuTorch 1.5.x's org.pytorch.executorch.MethodMetadata (see ../../../../README.md).
package org.pytorch.executorch

class MethodMetadata internal constructor(val name: String, val backends: Array<String>)
