/*
 * ckpt_retire DIR FILE: replaces the window state in DIR's checkpoint
 * with FILE's bytes, keeping its file positions and waiting alerts, as
 * the next generation.  With FILE a window state that a version before
 * the default rule became ES|QL text wrote, DIR holds what an upgrade
 * from that version finds (checkpoint_test.py).
 */
#include <stdio.h>

#include "checkpoint.h"
#include "util.h"

int
main(int argc, char **argv)
{
	struct checkpoint cp = {0};
	char block[4096];
	size_t n;
	FILE *f;
	int rc;

	if (argc != 3) {
		fprintf(stderr, "usage: ckpt_retire DIR FILE\n");
		return 2;
	}
	if (checkpoint_load(argv[1], &cp) != 0) {
		fprintf(stderr, "%s: no checkpoint to rewrite\n", argv[1]);
		return 1;
	}
	if ((f = fopen(argv[2], "rb")) == NULL) {
		perror(argv[2]);
		checkpoint_clear(&cp);
		return 1;
	}
	cp.window.len = 0;
	while ((n = fread(block, 1, sizeof(block), f)) > 0)
		buf_append(&cp.window, block, n);
	fclose(f);
	cp.gen++;
	rc = checkpoint_save(argv[1], &cp, NULL);
	checkpoint_clear(&cp);
	return rc == 0 ? 0 : 1;
}
