/*
 * test_ctl_result.c — onsale-ctl's line for a refusal (tools/ctl/ctl_conn.c,
 * ctl_result): the status's name and number, and for the refusals an
 * operator can act on, what to do, in words that hold for every cause of
 * that status. overloaded (73) is load shedding (net/shard/shed.c) but also
 * a shard whose messages are all taken (a retire, a hold's probe) or whose
 * stock transfers wait for acknowledgements (core/stock.c), an exchange
 * under way (core/xchg.c): the hint said "the shard sheds load" for all.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "core/status.h"
#include "tools/ctl/ctl.h"

/* ctl_result's exit code; what it wrote on stderr in line[]. */
static int result_line(int st, char *line, size_t cap)
{
	static const struct ctl_cmd cmd = {.words = "event retire"};
	struct ctl c = {.cmd = &cmd};
	FILE *tmp = tmpfile();
	assert_non_null(tmp);
	fflush(stderr);
	int saved = dup(2);
	assert_true(saved >= 0);
	assert_true(dup2(fileno(tmp), 2) >= 0);
	int rc = ctl_result(&c, st, "retire");
	fflush(stderr);
	assert_true(dup2(saved, 2) >= 0);
	close(saved);
	rewind(tmp);
	size_t n = fread(line, 1, cap - 1, tmp);
	line[n] = 0;
	fclose(tmp);
	return rc;
}

static void overloaded_names_no_single_cause(void **state)
{
	(void)state;
	char line[512];
	assert_int_equal(result_line(ST_OVERLOADED, line, sizeof line), CTL_EXIT_REFUSED);
	assert_non_null(strstr(line, "onsale-ctl event retire: retire: refused: overloaded (73) "
				     "(the server did not take it now: nothing was done; try "
				     "again shortly)\n"));
}

static void other_hints_stay(void **state)
{
	(void)state;
	char line[512];
	assert_int_equal(result_line(ST_FORBIDDEN, line, sizeof line), CTL_EXIT_REFUSED);
	assert_non_null(strstr(line, "forbidden (71) (another --role?)\n"));
	assert_int_equal(result_line(ST_SOLD_OUT, line, sizeof line), CTL_EXIT_REFUSED);
	assert_non_null(strstr(line, "sold_out (40)\n"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(overloaded_names_no_single_cause),
		cmocka_unit_test(other_hints_stay),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
