package com.example.mnv3

import android.content.Context
import android.content.pm.PackageManager
import android.os.Build
import java.io.File
import java.io.FileNotFoundException

/**
 * ExecuTorch memory-maps a model from a file path, and assets are not files: the model is copied
 * out of the APK once per install or update of the app (see [ModelFileCache]).
 */
internal object ModelFiles {
    /**
     * The copy of [assetName] (a path in the app's assets) in [folderName] under `noBackupFilesDir`,
     * named as the asset's file: each library passes a folder of its own (its package), so two
     * libraries with the same model file name cannot collide, and a copy of an asset has no place in
     * the user's cloud backup. Two assets of one library with the same file name in different
     * folders share the copy's name, and the cache key (the asset's whole path) tells them apart.
     */
    fun copyAssetIfChanged(context: Context, assetName: String, folderName: String): File {
        val folder = File(context.noBackupFilesDir, folderName)
        val fileName = assetName.substringAfterLast('/')
        // Earlier generated libraries kept the copy in filesDir (and in backups): drop it after an update.
        val legacy = File(context.filesDir, "mnv3-sdk")
        for (name in listOf(fileName, "$fileName.sha256", "$fileName.partial")) File(legacy, name).delete()
        // Assets change only when the app is installed or updated.
        val cacheKey = "${installTime(context)}/$assetName"
        return ModelFileCache(folder).get(fileName, cacheKey, assetSize(context, assetName)) {
            context.assets.open(assetName)
        }
    }

    private fun installTime(context: Context): Long {
        val packageManager = context.packageManager
        val info = if (Build.VERSION.SDK_INT >= Build.VERSION_CODES.TIRAMISU) {
            packageManager.getPackageInfo(context.packageName, PackageManager.PackageInfoFlags.of(0))
        } else {
            @Suppress("DEPRECATION")
            packageManager.getPackageInfo(context.packageName, 0)
        }
        return info.lastUpdateTime
    }

    private fun assetSize(context: Context, assetName: String): Long = try {
        // Cheap when the asset is stored uncompressed, as this library's build asks (noCompress "pte").
        context.assets.openFd(assetName).use { it.length }
    } catch (compressed: FileNotFoundException) {
        // An app that compresses it: an asset stream's available() is its remaining uncompressed length.
        context.assets.open(assetName).use { it.available().toLong() }
    }
}
