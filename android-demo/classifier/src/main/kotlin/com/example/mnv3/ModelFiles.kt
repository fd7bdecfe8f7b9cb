package com.example.mnv3

import android.content.Context
import java.io.File
import java.security.MessageDigest

/**
 * ExecuTorch memory-maps a model from a file path, and assets are not files: the model is
 * copied to internal storage once, and again only when the asset's SHA-256 changes (an app update).
 */
internal object ModelFiles {
    private const val FOLDER = "mnv3-sdk"

    fun copyAssetIfChanged(context: Context, assetName: String): File {
        val folder = File(context.filesDir, FOLDER).apply { mkdirs() }
        val target = File(folder, assetName)
        val hashFile = File(folder, "$assetName.sha256")
        val assetHash = context.assets.open(assetName).use { stream ->
            val digest = MessageDigest.getInstance("SHA-256")
            val buffer = ByteArray(1 shl 16)
            while (true) {
                val read = stream.read(buffer)
                if (read < 0) break
                digest.update(buffer, 0, read)
            }
            digest.digest().joinToString("") { "%02x".format(it) }
        }
        if (target.isFile && hashFile.isFile && hashFile.readText() == assetHash) return target
        val partial = File(folder, "$assetName.partial")
        context.assets.open(assetName).use { input -> partial.outputStream().use { input.copyTo(it) } }
        check(partial.renameTo(target)) { "cannot move the model into $target" }
        hashFile.writeText(assetHash)
        return target
    }
}
