// TEST DOUBLE of ExecuTorch 1.5.x's org.pytorch.executorch.DType (see ../../../../README.md).
package org.pytorch.executorch

enum class DType(val jniCode: Int) {
    UINT8(0), INT8(1), INT16(2), INT32(3), INT64(4), HALF(5), FLOAT(6), DOUBLE(7), BOOL(11)
}
