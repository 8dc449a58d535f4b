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

int main(void)
{
    test_codes_and_version();
    test_posix_object();
    test_file_object();
    test_invalid_arguments();
    if (failures != 0) {
        fprintf(stderr, "%d check(s) failed\n", failures);
        return EXIT_FAILURE;
    }
    puts("all C API checks passed");
    return EXIT_SUCCESS;
}
