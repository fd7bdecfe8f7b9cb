package com.example.mnv3

import java.io.File
import java.io.IOException
import java.io.InputStream
import java.io.OutputStream
import java.io.RandomAccessFile
import java.nio.channels.Channels
import java.nio.channels.OverlappingFileLockException
import java.nio.file.Files
import java.nio.file.StandardCopyOption
import java.security.DigestInputStream
import java.security.MessageDigest
import java.util.Properties

/**
 * A verified copy of a model file in [folder], made again only when its source changes; plain
 * Kotlin, tested on the JVM. `ModelFiles` feeds it the app's assets.
 *
 * Re-reading the source to find out whether it changed would cost as much as copying it, so the
 * caller supplies a cache key that changes whenever the source may have (for an asset: the app's
 * install time) and the source's size. The copy is written to a temporary file of its own, synced,
 * checked (size, and SHA-256 of the file as written against the bytes read), then renamed into
 * place atomically: concurrent callers, in this process or another, never see a partial file, and
 * a model that is already memory-mapped keeps its old file. A stamp file records key, size, hash and
 * the copy's modification time; a copy later truncated or rewritten no longer matches it and is
 * made again.
 *
 * A process killed half-way through a copy (the system reclaims background apps at any moment)
 * leaves its temporary file behind, which nothing else would ever remove: each copy holds a lock on
 * its temporary file until the file is renamed or deleted, the system drops the locks of a process
 * that dies, so [get] deletes every temporary file in [folder] it can lock, and leaves alone those
 * of copies still running in another process.
 */
internal class ModelFileCache(private val folder: File) {

    /**
     * The up-to-date copy of [name]: [open] is called only when there is none for [cacheKey] and
     * [size] (the source's exact length in bytes).
     *
     * @throws IOException if the source cannot be read or two attempts at copying it fail.
     */
    fun get(name: String, cacheKey: String, size: Long, open: () -> InputStream): File {
        val target = File(folder, name)
        val stamp = File(folder, "$name.stamp")
        synchronized(lock) { // other threads wait for the copy instead of making their own
            removeAbandonedCopies()
            if (isCurrent(target, stamp, cacheKey, size)) return target
            Files.createDirectories(folder.toPath())
            val sha256 = try {
                copy(open, target, size)
            } catch (first: IOException) {
                try {
                    copy(open, target, size)
                } catch (second: IOException) {
                    second.addSuppressed(first)
                    throw second
                }
            }
            val record = Properties()
            record.setProperty(KEY, cacheKey)
            record.setProperty(SIZE, size.toString())
            record.setProperty(SHA256, sha256)
            record.setProperty(MODIFIED, Files.getLastModifiedTime(target.toPath()).toMillis().toString())
            writeAtomically(stamp, write = { output -> record.store(output, null) })
            return target
        }
    }

    private fun isCurrent(target: File, stamp: File, cacheKey: String, size: Long): Boolean {
        if (!target.isFile || !stamp.isFile) return false
        val record = Properties()
        try {
            stamp.inputStream().use { record.load(it) }
        } catch (error: IOException) {
            return false
        } catch (error: IllegalArgumentException) { // a malformed \u escape in a damaged stamp
            return false
        }
        return record.getProperty(KEY) == cacheKey &&
            record.getProperty(SIZE) == size.toString() &&
            target.length() == size &&
            record.getProperty(MODIFIED) == Files.getLastModifiedTime(target.toPath()).toMillis().toString()
    }

    /** Copies the source into [target], checked before it replaces the old copy; returns its SHA-256 (hex). */
    private fun copy(open: () -> InputStream, target: File, size: Long): String {
        val sourceDigest = MessageDigest.getInstance("SHA-256")
        var sha256 = ""
        writeAtomically(
            target,
            write = { output ->
                val copied = DigestInputStream(open(), sourceDigest).use { input -> input.copyTo(output, BUFFER_SIZE) }
                if (copied != size) throw IOException("read $copied bytes of ${target.name}, expected $size")
            },
            verify = { copy ->
                val read = hex(sourceDigest.digest())
                sha256 = hex(digest(copy))
                if (sha256 != read) {
                    throw IOException("the copy of ${target.name} differs from what was read (SHA-256 $sha256, expected $read)")
                }
            },
        )
        return sha256
    }

    /**
     * Writes [file] through a temporary file in the same folder that is synced, passed to [verify]
     * and renamed over [file]; on failure nothing is left behind and [file] is unchanged.
     *
     * The temporary file is locked from its creation until after the rename, through the one
     * descriptor every step uses: POSIX drops a process's lock on a file when it closes *any*
     * descriptor of that file, so the check reads through it too, rather than opening the file again.
     */
    private fun writeAtomically(file: File, write: (OutputStream) -> Unit, verify: (RandomAccessFile) -> Unit = {}) {
        val temporary = Files.createTempFile(folder.toPath(), "${file.name}.", TEMPORARY_SUFFIX)
        try {
            RandomAccessFile(temporary.toFile(), "rw").use { copy ->
                try {
                    copy.channel.lock() // released when closed, after the rename
                } catch (unsupported: IOException) {
                    // A file system without locks: no clean-up can tell this copy is running, and
                    // one that deletes its file makes the rename fail, after which get() copies again.
                }
                // Not closed on its own: closing it would close the channel, and with it the lock.
                write(Channels.newOutputStream(copy.channel))
                copy.fd.sync() // the data must be on disk before the rename makes it visible
                verify(copy)
                Files.move(temporary, file.toPath(), StandardCopyOption.ATOMIC_MOVE)
            }
        } finally {
            Files.deleteIfExists(temporary)
        }
    }

    /**
     * Deletes the temporary files of copies that will never finish: those no running copy holds a
     * lock on (its process was killed). Called under [lock], so no copy of this process is running;
     * one in another process keeps its lock, and its file.
     */
    private fun removeAbandonedCopies() {
        val temporaries = folder.listFiles { file -> file.name.endsWith(TEMPORARY_SUFFIX) } ?: return
        for (temporary in temporaries) {
            try {
                RandomAccessFile(temporary, "rw").use { file ->
                    val abandoned = file.channel.tryLock() ?: return@use // a copy in another process
                    try {
                        temporary.delete()
                    } finally {
                        abandoned.release()
                    }
                }
            } catch (error: IOException) {
                // Deleted meanwhile by another process's clean-up, or unreadable: it is not ours to fix.
            } catch (error: OverlappingFileLockException) {
                // Locked by this process after all: a copy in progress, never abandoned.
            }
        }
    }

    private fun digest(file: RandomAccessFile): ByteArray {
        val digest = MessageDigest.getInstance("SHA-256")
        file.seek(0)
        val buffer = ByteArray(BUFFER_SIZE)
        while (true) {
            val read = file.read(buffer)
            if (read < 0) break
            digest.update(buffer, 0, read)
        }
        return digest.digest()
    }

    private fun hex(bytes: ByteArray): String = bytes.joinToString("") { "%02x".format(it) }

    private companion object {
        const val KEY = "key"
        const val SIZE = "size"
        const val SHA256 = "sha256"
        const val MODIFIED = "modified"
        const val BUFFER_SIZE = 1 shl 16
        const val TEMPORARY_SUFFIX = ".tmp"

        /** One copy at a time in this process; other processes are kept safe by the atomic renames. */
        val lock = Any()
    }
}
