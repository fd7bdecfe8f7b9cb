package com.example.mnv3

import org.json.JSONArray
import org.json.JSONException
import org.json.JSONObject

/**
 * The metadata mnv3-sdk embeds in every model (format `mnv3-sdk/1`): what the model expects and
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

    /** "fp32", "fp16" or "int8". */
    val quantization: String = json.string("quant")

    /** The class labels, index by index. */
    val labels: List<String> = json.array("labels").let { labels -> List(labels.length()) { labels.get(it) as String } }

    private val input = json.section("input")

    /** "uint8" (RGB bytes, NHWC) or "float32" (normalised floats, NCHW). */
    val inputType: String = input.string("dtype")

    /** The side of the square model input, in pixels. */
    val inputSize: Int = (input.array("shape").get(if (inputType == "uint8") 1 else 2) as Number).toInt()

    /** The fraction of the short side kept by the centre crop. */
    val cropFraction: Double = input.number("crop_fraction").toDouble()

    /** Per-channel RGB mean, for callers feeding float input. */
    val mean: FloatArray = input.floats("mean")

    /** Per-channel RGB standard deviation, for callers feeding float input. */
    val std: FloatArray = input.floats("std")

    companion object {
        /** The metadata format this library understands. */
        const val FORMAT = "mnv3-sdk/1"

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
            require(json.opt("format") == FORMAT) { "model metadata format is ${json.opt("format")}, expected $FORMAT" }
            return try {
                ModelMetadata(text, json)
            } catch (error: JSONException) {
                throw IllegalArgumentException("model metadata is incomplete: ${error.message}", error)
            } catch (error: ClassCastException) {
                throw IllegalArgumentException("model metadata is malformed: ${error.message}", error)
            } catch (error: IndexOutOfBoundsException) {
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
