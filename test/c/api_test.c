/* The public header is C: this program includes it as C11 with -Werror and
 * -pedantic and calls the object API, exiting non-zero on any mismatch. */
#define _POSIX_C_SOURCE 200809L

#include <netshm.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static int failures = 0;

#define EXPECT(condition)                                                                   \
    do {                                                                                    \
        if (!(condition)) {                                                                 \
            fprintf(stderr, "%s:%d: failed: %s (last error: %s)\n", __FILE__, __LINE__,     \
                    #condition, netshm_last_error());                                       \
            ++failures;                                                                     \
        }                                                                                   \
    } while (0)

static void test_codes_and_version(void)
{
    char expected_version[32];
    snprintf(expected_version, sizeof expected_version, "%d.%d.%d", NETSHM_VERSION_MAJOR,
             NETSHM_VERSION_MINOR, NETSHM_VERSION_PATCH);
    EXPECT(strcmp(netshm_version(), expected_version) == 0);
    EXPECT(strcmp(netshm_version(), NETSHM_VERSION_STRING) == 0);
    EXPECT(strcmp(netshm_strerror(NETSHM_OK), "success") == 0);
    EXPECT(strcmp(netshm_strerror(NETSHM_EEXIST), "already exists") == 0);
    EXPECT(strcmp(netshm_strerror(-1000), "unknown error") == 0);
    EXPECT(netshm_supported_types() == ((1u << NETSHM_TYPE_FILE) | (1u << NETSHM_TYPE_POSIX)));
    EXPECT(netshm_best_locking_method(NETSHM_TYPE_POSIX) == NETSHM_RECORD_LOCKING);
    EXPECT(netshm_last_error() != NULL);
}

static void test_posix_object(void)
{
    char name[64];
    char path[80];
    char message[160];
    netshm_descr *descr = NULL;
    netshm_descr *again = NULL;
    struct stat st;

    EXPECT(netshm_create_unique(NETSHM_TYPE_POSIX, "/netshm-c-test-XXXXXX", 0600, &descr) == NETSHM_OK);
    if (descr == NULL)
        return;
    EXPECT(netshm_descr_type(descr) == NETSHM_TYPE_POSIX);
    EXPECT(strlen(netshm_name(descr)) == strlen("/netshm-c-test-XXXXXX"));
    EXPECT(strncmp(netshm_name(descr), "/netshm-c-test-", 15) == 0);
    snprintf(name, sizeof name, "%s", netshm_name(descr));
    snprintf(path, sizeof path, "/dev/shm%s", name);

    EXPECT(netshm_chmod(descr, 0640) == NETSHM_OK);
    EXPECT(stat(path, &st) == 0 && (st.st_mode & 07777) == 0640);
    EXPECT(netshm_chown(descr, -1, -1) == NETSHM_OK);

    EXPECT(netshm_open(NETSHM_TYPE_POSIX, name, O_RDWR | O_CREAT | O_EXCL, 0600, &again) == NETSHM_EEXIST);
    EXPECT(again == NULL);
    EXPECT(netshm_open(NETSHM_TYPE_POSIX, name, O_RDONLY, 0, &again) == NETSHM_OK);
    EXPECT(netshm_close(again) == NETSHM_OK);

    EXPECT(netshm_close(descr) == NETSHM_OK);
    EXPECT(netshm_unlink(NETSHM_TYPE_POSIX, name) == NETSHM_OK);
    EXPECT(netshm_unlink(NETSHM_TYPE_POSIX, name) == NETSHM_ENOTFOUND);
    snprintf(message, sizeof message, "shm_unlink %s: No such file or directory", name);
    EXPECT(strcmp(netshm_last_error(), message) == 0);
    EXPECT(netshm_last_errno() == ENOENT);
}

static void test_file_object(void)
{
    char name[] = "/tmp/netshm-c-test-XXXXXX";
    netshm_descr *descr = NULL;
    int fd = mkstemp(name);

    EXPECT(fd >= 0);
    if (fd < 0)
        return;
    close(fd);
    EXPECT(netshm_open(NETSHM_TYPE_FILE, name, O_RDWR, 0, &descr) == NETSHM_OK);
    EXPECT(descr != NULL && strcmp(netshm_name(descr), name) == 0);
    EXPECT(netshm_descr_type(descr) == NETSHM_TYPE_FILE);
    EXPECT(netshm_close(descr) == NETSHM_OK);
    EXPECT(netshm_unlink(NETSHM_TYPE_FILE, name) == NETSHM_OK);
    EXPECT(access(name, F_OK) != 0);
}

static void test_invalid_arguments(void)
{
    netshm_descr *descr = NULL;

    EXPECT(netshm_open(NETSHM_TYPE_POSIX, "no-slash", O_RDWR | O_CREAT, 0600, &descr) == NETSHM_EINVAL);
    EXPECT(netshm_open(NETSHM_TYPE_POSIX, "/a/b", O_RDWR | O_CREAT, 0600, &descr) == NETSHM_EINVAL);
    EXPECT(netshm_open(NETSHM_TYPE_POSIX, "/c-test", O_WRONLY | O_CREAT, 0600, &descr) == NETSHM_EINVAL);
    EXPECT(netshm_open(NETSHM_TYPE_POSIX, NULL, O_RDWR, 0600, &descr) == NETSHM_EINVAL);
    EXPECT(descr == NULL);
    EXPECT(netshm_close(NULL) == NETSHM_EINVAL);
    EXPECT(strcmp(netshm_last_error(), "netshm_close: descr is NULL") == 0);
    EXPECT(netshm_last_errno() == 0);
    EXPECT(netshm_name(NULL) == NULL);
    EXPECT(netshm_descr_type(NULL) == 0);
}

static int count_problem(const netshm_problem *problem, void *ctx)
{
    int *seen = ctx;
    if (problem->kind == NETSHM_PROBLEM_COUNT && problem->page == 1 && strncmp(problem->message, "page 1:", 7) == 0)
        ++*seen;
    return 0;
}

static void test_check_and_stat(void)
{
    netshm_descr *descr = NULL;
    netshm_table *table = NULL;
    netshm_stats stats;
    netshm_repair_report report;
    int32_t value[3] = {1, 2, 3};
    int32_t *base = NULL;
    size_t pages = 0, words_per_page = 0;
    int seen = 0;

    EXPECT(netshm_create_unique(NETSHM_TYPE_POSIX, "/netshm-c-check-XXXXXX", 0600, &descr) == NETSHM_OK);
    if (descr == NULL)
        return;
    EXPECT(netshm_manage(descr, NETSHM_RECORD_LOCKING, 0, -1, &table) == NETSHM_OK);
    if (table != NULL) {
        EXPECT(netshm_add(table, 7, value, 3) == NETSHM_OK);
        EXPECT(netshm_check(table, count_problem, &seen) == 0);
        memset(&stats, 0, sizeof stats);
        stats.struct_size = sizeof stats;
        EXPECT(netshm_stat(table, &stats) == NETSHM_OK);
        EXPECT(stats.struct_size == sizeof stats && stats.pagesize == 256 && stats.bindings == 1 &&
               stats.distinct_keys == 1 && stats.value_bytes == 12 && stats.longest_probe == 1);

        /* one binding more in the descriptor's count than in the table */
        EXPECT(netshm_memory(table, &base, &pages, &words_per_page) == NETSHM_OK);
        if (base != NULL)
            base[words_per_page + 4] = 2;
        EXPECT(netshm_check(table, count_problem, &seen) == 1);
        EXPECT(seen == 1);
        EXPECT(netshm_stat(table, &stats) == NETSHM_ECORRUPT);

        /* repair puts the count right */
        memset(&report, 0, sizeof report);
        report.struct_size = sizeof report;
        EXPECT(netshm_repair(table, &report) == NETSHM_OK);
        EXPECT(report.struct_size == sizeof report && report.bindings_kept == 1 && report.bindings_dropped == 0 &&
               report.pages_reclaimed == 0);
        EXPECT(netshm_check(table, NULL, NULL) == 0);
        EXPECT(netshm_stat(table, &stats) == NETSHM_OK);
        EXPECT(netshm_table_close(table) == NETSHM_OK);
    }
    EXPECT(netshm_unlink(NETSHM_TYPE_POSIX, netshm_name(descr)) == NETSHM_OK);
    EXPECT(netshm_close(descr) == NETSHM_OK);
}

int main(void)
{
    test_codes_and_version();
    test_posix_object();
    test_file_object();
    test_invalid_arguments();
    test_check_and_stat();
    if (failures != 0) {
        fprintf(stderr, "%d check(s) failed\n", failures);
        return EXIT_FAILURE;
    }
    puts("all C API checks passed");
    return EXIT_SUCCESS;
}
