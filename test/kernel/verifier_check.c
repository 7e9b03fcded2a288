/* Runs as /init of a throwaway VM booted on an older kernel: loads every
 * Ferry BPF program through the same skeletons ferryd uses, so the kernel's
 * own verifier judges them, prints one line per program and powers off.
 * Each line gives the translated length and the instructions the verifier
 * walked (verified_insns, Linux 5.16+): the second is what approaches the
 * verifier's limits and what splitting helpers out is meant to lower.
 * Nothing is pinned; the VM has no network. */
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/reboot.h>
#include <sys/utsname.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "ferry_bench.skel.h"
#include "ferry_tc_pod.skel.h"
#include "ferry_tc_uplink.skel.h"
#include "ferry_xdp.skel.h"

#define RESULT "FERRY-VERIFIER"

static char verifier_log[1 << 20];

/* Loads an object's programs without pinning; prints a verdict per program. */
static int load(struct bpf_object *object)
{
	struct bpf_program *program;
	struct bpf_map *map;
	int err;

	bpf_object__for_each_map(map, object) bpf_map__set_pin_path(map, NULL);
	bpf_object__for_each_program(program, object)
		bpf_program__set_log_buf(program, verifier_log, sizeof(verifier_log));
	err = bpf_object__load(object);
	bpf_object__for_each_program(program, object) {
		struct bpf_prog_info info = {};
		__u32 length = sizeof(info);
		int fd = bpf_program__fd(program);

		if (fd >= 0 && bpf_obj_get_info_by_fd(fd, &info, &length) == 0)
			printf(RESULT " program %s: accepted, %u instructions, %u verified\n",
			       bpf_program__name(program), info.xlated_prog_len / 8, info.verified_insns);
		else
			printf(RESULT " program %s: REJECTED\n", bpf_program__name(program));
	}
	if (err) {
		size_t used = strlen(verifier_log);

		printf(RESULT " load failed (%d); end of the verifier log:\n%s\n", err,
		       verifier_log + (used > 8000 ? used - 8000 : 0));
	}
	return err;
}

/* The XDP program must also run: a frame that is not IP passes. */
static int run_xdp(const struct ferry_xdp *lb)
{
	unsigned char frame[64] = { [12] = 0x88, [13] = 0xb5 }; /* local experimental EtherType */
	LIBBPF_OPTS(bpf_test_run_opts, opts, .data_in = frame, .data_size_in = sizeof(frame));
	int err = bpf_prog_test_run_opts(bpf_program__fd(lb->progs.ferry_xdp_lb), &opts);

	printf(RESULT " test run of ferry_xdp_lb: %s (verdict %u)\n",
	       err == 0 && opts.retval == XDP_PASS ? "passed" : "FAILED", opts.retval);
	return err == 0 && opts.retval == XDP_PASS ? 0 : -1;
}

int main(void)
{
	struct ferry_bench *bench = NULL;
	struct ferry_xdp *lb = NULL;
	struct ferry_tc_uplink *tc_uplink = NULL;
	struct ferry_tc_pod *tc_pod = NULL;
	struct utsname kernel;
	int failed = 1;

	mount("proc", "/proc", "proc", 0, NULL);
	mount("sysfs", "/sys", "sysfs", 0, NULL);
	uname(&kernel);
	printf(RESULT " kernel %s\n", kernel.release);

	lb = ferry_xdp__open();
	tc_uplink = ferry_tc_uplink__open();
	tc_pod = ferry_tc_pod__open();
	bench = ferry_bench__open();
	if (lb && tc_uplink && tc_pod && bench && load(lb->obj) == 0 && load(tc_uplink->obj) == 0 &&
	    load(tc_pod->obj) == 0 && load(bench->obj) == 0 && run_xdp(lb) == 0)
		failed = 0;
	printf(RESULT " %s\n", failed ? "FAILED" : "ALL ACCEPTED");
	fflush(stdout);
	ferry_bench__destroy(bench);
	ferry_tc_pod__destroy(tc_pod);
	ferry_tc_uplink__destroy(tc_uplink);
	ferry_xdp__destroy(lb);
	sync();
	reboot(RB_POWER_OFF);
	return failed;
}
