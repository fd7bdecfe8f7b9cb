package com.example.mnv3

import kotlin.math.exp

/** One class the model recognised: its index in the model's output, its label and its probability. */
data class Category(val index: Int, val label: String, val score: Float)

/**
 * The result of one `classify` call of the classifier.
 *
 * @property categories the best categories, highest score first, after the options' filters.
 * @property preprocessingTimeMs wall time from the caller's pixels to the filled input tensor
 *   (reading a bitmap, cropping, resizing, converting), in milliseconds.
 * @property inferenceTimeMs wall time of the model's forward pass alone, in milliseconds.
 */
data class ClassificationResult(
    val categories: List<Category>,
    val preprocessingTimeMs: Double,
    val inferenceTimeMs: Double,
) {
    /** Preprocessing plus inference: the latency from pixels to logits (postprocessing is negligible). */
    val totalTimeMs: Double get() = preprocessingTimeMs + inferenceTimeMs
}

/** Turning logits into the categories a caller asked for; plain Kotlin, tested on the JVM. */
object Postprocessing {
    /** Softmax probabilities of [logits], computed stably in double precision. */
    @JvmStatic
    fun softmax(logits: FloatArray): FloatArray {
        if (logits.isEmpty()) return FloatArray(0)
        val max = logits.maxOrNull()!!.toDouble()
        val exps = DoubleArray(logits.size) { exp(logits[it] - max) }
        val sum = exps.sum()
        return FloatArray(logits.size) { (exps[it] / sum).toFloat() }
    }

    /**
     * The top [maxResults] categories by score (ties: lower index first), keeping only scores at
     * or above [scoreThreshold], and only labels in [allowlist] (when not empty) and not in [denylist].
     */
    @JvmStatic
    fun topCategories(
        scores: FloatArray,
        labels: List<String>,
        maxResults: Int,
        scoreThreshold: Float,
        allowlist: Set<String>,
        denylist: Set<String>,
    ): List<Category> {
        require(scores.size == labels.size) { "${scores.size} scores but ${labels.size} labels" }
        return scores.indices
            .asSequence()
            .filter { scores[it] >= scoreThreshold }
            .filter { allowlist.isEmpty() || labels[it] in allowlist }
            .filter { labels[it] !in denylist }
            .sortedWith(compareByDescending<Int> { scores[it] }.thenBy { it })
            .take(maxResults)
            .map { Category(it, labels[it], scores[it]) }
            .toList()
    }
}
