package com.example.mnv3

import org.json.JSONArray
import org.json.JSONException
import org.json.JSONObject

/** How the model's weights and activations are stored. */
enum class Quantization(
    /** The name the metadata and the build report use: "fp32", "fp16" or "int8". */
    val id: String,
) {
    FP32("fp32"),
    FP16("fp16"),
    INT8("int8");

    internal companion object {
        fun of(id: String): Quantization =
            entries.firstOrNull { it.id == id } ?: throw IllegalArgumentException("unknown quantization $id")
    }
}

/** The element type of the model's input tensor, and of its logits. */
enum class InputType(
    /** The dtype name the metadata uses: "float32" or "float16". */
    val id: String,
) {
    FLOAT32("float32"),

    /** IEEE half precision, the input and output of fp16 models. */
    FLOAT16("float16");

    internal companion object {
        fun of(id: String): InputType = entries.firstOrNull { it.id == id }
            ?: throw IllegalArgumentException("model input dtype $id is not float32 or float16")
    }
}

/**
 * The metadata mnv3-sdk embeds in every model (format `mnv3-sdk/2`): what the model expects and
 * what its outputs mean. Read from the model file at run time, so labels and preprocessing
 * values are never copied into source code.
 *
 * Parsed with `org.json`, which Android ships. Types are checked here rather than left to
 * `getString`/`getDouble`, which on Android turn numbers into strings and strings into numbers.
 */
class ModelMetadata private constructor(private val text: String, json: JSONObject) {
    /** A copy of the raw JSON document, for keys this class does not expose. */
    val raw: JSONObject get() = JSONObject(text)

    /** "mobilenet_v3_small" or "mobilenet_v3_large". */
    val architecture: String = json.section("model").string("arch")

    /** How the model's weights and activations are stored. */
    val quantization: Quantization = Quantization.of(json.string("quant"))

    /** The class labels, index by index. */
    val labels: List<String> = json.array("labels").let { labels -> List(labels.length()) { labels.get(it) as String } }

    private val input = json.section("input")

    /** The element type of the NCHW input and of the logits: [InputType.FLOAT16] for fp16 models. */
    val inputType: InputType = InputType.of(input.string("dtype"))

    /** The side of the square model input, in pixels (the input is `[1, 3, inputSize, inputSize]`). */
    val inputSize: Int = (input.array("shape").get(2) as Number).toInt()

    /** True: the input holds RGB values 0–255 and the model normalises them; false: normalised values. */
    val normalizedInGraph: Boolean = input.get("normalized_in_graph") as Boolean

    /** The fraction of the short side kept by the centre crop. */
    val cropFraction: Double = input.number("crop_fraction").toDouble()

    /** Per-channel RGB mean, for callers feeding float input. */
    val mean: FloatArray = input.floats("mean")

    /** Per-channel RGB standard deviation, for callers feeding float input. */
    val std: FloatArray = input.floats("std")

    companion object {
        /** The metadata format this library understands. */
        const val FORMAT = "mnv3-sdk/2"

        // Formats of older mnv3-sdk releases, refused with the remedy rather than misread.
        private val OLDER_FORMATS = setOf("mnv3-sdk/1")

        /** Parses the UTF-8 JSON bytes returned by the model's `metadata` method. */
        @JvmStatic
        fun parse(utf8: ByteArray): ModelMetadata = parse(String(utf8, Charsets.UTF_8))

        /** Parses a metadata JSON document. */
        @JvmStatic
        fun parse(text: String): ModelMetadata {
            val json = try {
                JSONObject(text)
            } catch (error: JSONException) {
                throw IllegalArgumentException("model metadata is not a JSON object: ${error.message}", error)
            }
            val format = json.opt("format")
            require(format !in OLDER_FORMATS) {
                "model metadata format $format is from an older mnv3-sdk; this library reads $FORMAT: rebuild the model"
            }
            require(format == FORMAT) { "model metadata format is $format, expected $FORMAT" }
            return try {
                ModelMetadata(text, json)
            } catch (error: JSONException) {
                throw IllegalArgumentException("model metadata is incomplete: ${error.message}", error)
            } catch (error: ClassCastException) {
                throw IllegalArgumentException("model metadata is malformed: ${error.message}", error)
            }
        }

        private fun JSONObject.section(key: String): JSONObject =
            opt(key) as? JSONObject ?: throw IllegalArgumentException("model metadata has no '$key' section")

        private fun JSONObject.string(key: String): String = get(key) as String

        private fun JSONObject.number(key: String): Number = get(key) as Number

        private fun JSONObject.array(key: String): JSONArray = get(key) as JSONArray

        private fun JSONObject.floats(key: String): FloatArray =
            array(key).let { values -> FloatArray(values.length()) { (values.get(it) as Number).toFloat() } }
    }
}
