package com.example.mnv3

/**
 * The metadata mnv3-sdk embeds in every model (format `mnv3-sdk/1`): what the model expects and
 * what its outputs mean. Read from the model file at run time, so labels and preprocessing
 * values are never copied into source code.
 */
class ModelMetadata private constructor(private val json: Map<String, Any?>) {
    /** The raw JSON document, for keys this class does not expose. */
    val raw: Map<String, Any?> get() = json

    /** "mobilenet_v3_small" or "mobilenet_v3_large". */
    val architecture: String = section("model")["arch"] as String

    /** "fp32", "fp16" or "int8". */
    val quantization: String = json["quant"] as String

    /** The class labels, index by index. */
    val labels: List<String> = (json["labels"] as List<*>).map { it as String }

    private val input = section("input")

    /** "uint8" (RGB bytes, NHWC) or "float32" (normalised floats, NCHW). */
    val inputType: String = input["dtype"] as String

    /** The side of the square model input, in pixels. */
    val inputSize: Int = ((input["shape"] as List<*>).let { if (inputType == "uint8") it[1] else it[2] } as Number).toInt()

    /** The fraction of the short side kept by the centre crop. */
    val cropFraction: Double = (input["crop_fraction"] as Number).toDouble()

    /** Per-channel RGB mean, for callers feeding float input. */
    val mean: FloatArray = (input["mean"] as List<*>).map { (it as Number).toFloat() }.toFloatArray()

    /** Per-channel RGB standard deviation, for callers feeding float input. */
    val std: FloatArray = (input["std"] as List<*>).map { (it as Number).toFloat() }.toFloatArray()

    private fun section(name: String): Map<*, *> =
        json[name] as? Map<*, *> ?: throw IllegalArgumentException("model metadata has no '$name' section")

    companion object {
        /** The metadata format this library understands. */
        const val FORMAT = "mnv3-sdk/1"

        /** Parses the UTF-8 JSON bytes returned by the model's `metadata` method. */
        @JvmStatic
        fun parse(utf8: ByteArray): ModelMetadata = parse(String(utf8, Charsets.UTF_8))

        /** Parses a metadata JSON document. */
        @JvmStatic
        fun parse(text: String): ModelMetadata {
            @Suppress("UNCHECKED_CAST")
            val json = JsonReader(text).readDocument() as? Map<String, Any?>
                ?: throw IllegalArgumentException("model metadata is not a JSON object")
            require(json["format"] == FORMAT) { "model metadata format is ${json["format"]}, expected $FORMAT" }
            return try {
                ModelMetadata(json)
            } catch (error: ClassCastException) {
                throw IllegalArgumentException("model metadata is malformed: ${error.message}", error)
            } catch (error: NullPointerException) {
                throw IllegalArgumentException("model metadata is missing a key: ${error.message}", error)
            }
        }
    }
}

/** A small strict JSON reader (objects, arrays, strings, numbers, booleans, null). */
internal class JsonReader(private val text: String) {
    private var position = 0

    fun readDocument(): Any? {
        val value = readValue()
        skipWhitespace()
        if (position != text.length) fail("trailing characters")
        return value
    }

    private fun readValue(): Any? {
        skipWhitespace()
        if (position >= text.length) fail("unexpected end")
        return when (text[position]) {
            '{' -> readObject()
            '[' -> readArray()
            '"' -> readString()
            't' -> literal("true", true)
            'f' -> literal("false", false)
            'n' -> literal("null", null)
            else -> readNumber()
        }
    }

    private fun readObject(): Map<String, Any?> {
        val result = LinkedHashMap<String, Any?>()
        position++
        skipWhitespace()
        if (peek() == '}') { position++; return result }
        while (true) {
            skipWhitespace()
            if (peek() != '"') fail("expected a key")
            val key = readString()
            skipWhitespace()
            expect(':')
            result[key] = readValue()
            skipWhitespace()
            when (next()) {
                ',' -> continue
                '}' -> return result
                else -> fail("expected ',' or '}'")
            }
        }
    }

    private fun readArray(): List<Any?> {
        val result = ArrayList<Any?>()
        position++
        skipWhitespace()
        if (peek() == ']') { position++; return result }
        while (true) {
            result.add(readValue())
            skipWhitespace()
            when (next()) {
                ',' -> continue
                ']' -> return result
                else -> fail("expected ',' or ']'")
            }
        }
    }

    private fun readString(): String {
        expect('"')
        val builder = StringBuilder()
        while (true) {
            val c = next()
            when {
                c == '"' -> return builder.toString()
                c == '\\' -> when (val escaped = next()) {
                    '"', '\\', '/' -> builder.append(escaped)
                    'b' -> builder.append('\b')
                    'f' -> builder.append('\u000C')
                    'n' -> builder.append('\n')
                    'r' -> builder.append('\r')
                    't' -> builder.append('\t')
                    'u' -> {
                        if (position + 4 > text.length) fail("short \\u escape")
                        val code = text.substring(position, position + 4).toIntOrNull(16) ?: fail("bad \\u escape")
                        builder.append(code.toChar()) // surrogate pairs arrive as two escapes
                        position += 4
                    }
                    else -> fail("bad escape '\\$escaped'")
                }
                c < ' ' -> fail("control character in string")
                else -> builder.append(c)
            }
        }
    }

    private fun readNumber(): Number {
        val start = position
        while (position < text.length && text[position] in "+-0123456789.eE") position++
        val token = text.substring(start, position)
        if (token.isEmpty()) fail("unexpected character '${text[start]}'")
        return if (token.any { it in ".eE" }) token.toDouble() else token.toLongOrNull() ?: token.toDouble()
    }

    private fun literal(word: String, value: Any?): Any? {
        if (!text.startsWith(word, position)) fail("unexpected token")
        position += word.length
        return value
    }

    private fun skipWhitespace() {
        while (position < text.length && text[position] in " \t\r\n") position++
    }

    private fun peek(): Char = if (position < text.length) text[position] else fail("unexpected end")

    private fun next(): Char = peek().also { position++ }

    private fun expect(c: Char) {
        if (next() != c) fail("expected '$c'")
    }

    private fun fail(message: String): Nothing =
        throw IllegalArgumentException("model metadata is not valid JSON: $message at character $position")
}
