/* A qemu TCG plugin that counts the guest instructions executed between the native runner's markers
 * (runner.cpp, --count-markers: write(-1, NULL, 0x4d4e5630) before each timed iteration and
 * write(-1, NULL, 0x4d4e5631) after it), so that instructions per inference are measured exactly
 * and repeatably, where time under emulation says little.
 *
 * Built by mnv3_sdk.native.plugin with the host's gcc; loaded with
 *   qemu-aarch64 -plugin PATH/insn_count.so,out=FILE ...
 * At exit it writes to FILE: "total: N" (every instruction of the process), then one line
 * "interval K: N" per begin/end pair, and after it "reads K: N1 N2 ..." when the interval made
 * clock_gettime calls: the counter at each call, counted from the interval's begin.
 *
 * Timer reads: qemu-aarch64 7.2 gives the guest no vDSO, so every clock_gettime is a real syscall
 * and reaches on_syscall. XNNPACK's profiler reads the clock before its first operator and after
 * each one (ExecuTorch's event tracer reads it around its own events), so the counter at those
 * reads splits an inference's instructions per operator (mnv3_sdk.profile.arm64 maps them).
 *
 * Counting: each translated block adds its instruction count to the counter when it starts
 * executing (an inline add, no call). In user mode a block ends at every svc, so when the marker's
 * syscall arrives every instruction up to and including that svc has been counted: an interval is
 * the instructions after the begin marker's svc up to and including the end marker's svc. The
 * counter is one for all vCPU threads and the inline add is not atomic: count with one thread.
 *
 * Debian ships no qemu-plugin.h (only qemu's source package has it), so the few declarations used
 * are written out here as qemu 7.2's include/qemu/qemu-plugin.h has them (plugin API version 1,
 * the version qemu-aarch64 7.2 accepts).
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef uint64_t qemu_plugin_id_t;
typedef struct qemu_info_t qemu_info_t; /* only passed to us; never read here */
struct qemu_plugin_tb;
enum qemu_plugin_op { QEMU_PLUGIN_INLINE_ADD_U64 };
typedef void (*qemu_plugin_vcpu_tb_trans_cb_t)(qemu_plugin_id_t id, struct qemu_plugin_tb *tb);
typedef void (*qemu_plugin_vcpu_syscall_cb_t)(qemu_plugin_id_t id, unsigned int vcpu_index, int64_t num,
                                              uint64_t a1, uint64_t a2, uint64_t a3, uint64_t a4,
                                              uint64_t a5, uint64_t a6, uint64_t a7, uint64_t a8);
typedef void (*qemu_plugin_udata_cb_t)(qemu_plugin_id_t id, void *userdata);
void qemu_plugin_register_vcpu_tb_trans_cb(qemu_plugin_id_t id, qemu_plugin_vcpu_tb_trans_cb_t cb);
void qemu_plugin_register_vcpu_tb_exec_inline(struct qemu_plugin_tb *tb, enum qemu_plugin_op op, void *ptr,
                                              uint64_t imm);
size_t qemu_plugin_tb_n_insns(const struct qemu_plugin_tb *tb);
void qemu_plugin_register_vcpu_syscall_cb(qemu_plugin_id_t id, qemu_plugin_vcpu_syscall_cb_t cb);
void qemu_plugin_register_atexit_cb(qemu_plugin_id_t id, qemu_plugin_udata_cb_t cb, void *userdata);

#define EXPORT __attribute__((visibility("default")))
EXPORT int qemu_plugin_version = 1;

#define AARCH64_WRITE 64 /* the aarch64 Linux syscall number of write (asm-generic/unistd.h) */
#define MARKER_BEGIN 0x4d4e5630u
#define MARKER_END 0x4d4e5631u
#define MAX_INTERVALS 100000
#define AARCH64_CLOCK_GETTIME 113
#define MAX_READS 2000000

/* The translate and syscall callbacks carry no user data in this API, so the counts live in one
 * static record: one plugin instance per qemu process. */
static struct {
    uint64_t executed;
    uint64_t begin;
    int open;
    size_t intervals;
    uint64_t interval[MAX_INTERVALS];
    size_t reads;
    uint64_t read[MAX_READS];      /* the counter at each clock read inside an interval, from its begin */
    size_t first_read[MAX_INTERVALS + 1]; /* interval K's reads: read[first_read[K]] up to the next one's */
    char out[4096];
    int overflow;
} counts;

static void on_translate(qemu_plugin_id_t id, struct qemu_plugin_tb *tb) {
    (void)id;
    qemu_plugin_register_vcpu_tb_exec_inline(tb, QEMU_PLUGIN_INLINE_ADD_U64, &counts.executed,
                                             qemu_plugin_tb_n_insns(tb));
}

static void on_syscall(qemu_plugin_id_t id, unsigned int vcpu_index, int64_t num, uint64_t a1, uint64_t a2,
                       uint64_t a3, uint64_t a4, uint64_t a5, uint64_t a6, uint64_t a7, uint64_t a8) {
    (void)id; (void)vcpu_index; (void)a2; (void)a4; (void)a5; (void)a6; (void)a7; (void)a8;
    /* fd -1: the kernel reads fd as an int, so only its low 32 bits count (and the runner's
     * variadic syscall() may leave the upper ones unset). */
    if (num == AARCH64_CLOCK_GETTIME && counts.open) {
        /* The svc ended a block, so every instruction before this call has been counted. */
        if (counts.reads < MAX_READS)
            counts.read[counts.reads++] = counts.executed - counts.begin;
        else
            counts.overflow = 1;
        return;
    }
    if (num != AARCH64_WRITE || (int32_t)a1 != -1) return;
    if (a3 == MARKER_BEGIN) {
        counts.begin = counts.executed;
        counts.open = 1;
        if (counts.intervals < MAX_INTERVALS) counts.first_read[counts.intervals] = counts.reads;
    } else if (a3 == MARKER_END && counts.open) {
        if (counts.intervals < MAX_INTERVALS)
            counts.interval[counts.intervals++] = counts.executed - counts.begin;
        else
            counts.overflow = 1;
        counts.open = 0;
    }
}

static void on_process_exit(qemu_plugin_id_t id, void *userdata) {
    (void)id; (void)userdata;
    FILE *out = fopen(counts.out, "w");
    if (out == NULL) {
        fprintf(stderr, "insn_count: cannot write %s\n", counts.out);
        return;
    }
    fprintf(out, "total: %" PRIu64 "\n", counts.executed);
    counts.first_read[counts.intervals] = counts.reads;
    for (size_t i = 0; i < counts.intervals; i++) {
        fprintf(out, "interval %zu: %" PRIu64 "\n", i + 1, counts.interval[i]);
        if (counts.first_read[i] == counts.first_read[i + 1]) continue;
        fprintf(out, "reads %zu:", i + 1);
        for (size_t r = counts.first_read[i]; r < counts.first_read[i + 1]; r++)
            fprintf(out, " %" PRIu64, counts.read[r]);
        fputc('\n', out);
    }
    if (counts.overflow) fprintf(out, "overflow: more than %d intervals or %d clock reads\n", MAX_INTERVALS, MAX_READS);
    fclose(out);
}

EXPORT int qemu_plugin_install(qemu_plugin_id_t id, const qemu_info_t *info, int argc, char **argv) {
    (void)info;
    for (int i = 0; i < argc; i++) {
        if (strncmp(argv[i], "out=", 4) == 0 && strlen(argv[i] + 4) < sizeof counts.out)
            strcpy(counts.out, argv[i] + 4);
    }
    if (counts.out[0] == '\0') {
        fprintf(stderr, "insn_count: give the result file as -plugin insn_count.so,out=FILE\n");
        return 1;
    }
    qemu_plugin_register_vcpu_tb_trans_cb(id, on_translate);
    qemu_plugin_register_vcpu_syscall_cb(id, on_syscall);
    qemu_plugin_register_atexit_cb(id, on_process_exit, NULL);
    return 0;
}
