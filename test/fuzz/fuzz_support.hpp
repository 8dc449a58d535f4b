// What the fuzz targets share: a finding aborts with a message (libFuzzer
// then saves the input), the input is read front to back, and each process
// has one scratch file in /dev/shm, rewritten for every input.
#pragma once

#include <netshm.h>

#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fcntl.h>
#include <string>
#include <sys/stat.h>
#include <unistd.h>

namespace netshm_fuzz {

[[noreturn]] inline void finding(const std::string &what)
{
    std::fprintf(stderr, "\n==netshm fuzz finding== %s\n", what.c_str());
    std::fflush(stderr);
    std::abort();
}

inline std::string described(const char *operation, int rc)
{
    return std::string(operation) + " returned " + std::to_string(rc) + " (" + netshm_strerror(rc) +
           "): " + netshm_last_error();
}

// The input, consumed from the front; past its end every read gives 0.
class input {
public:
    input(const uint8_t *data, size_t size) : data_(data), size_(size) {}

    bool empty() const { return pos_ >= size_; }
    size_t left() const { return empty() ? 0 : size_ - pos_; }
    const uint8_t *here() const { return data_ + pos_; }
    void skip(size_t n) { pos_ += n < left() ? n : left(); }

    uint8_t byte() { return empty() ? 0 : data_[pos_++]; }
    uint32_t u32()
    {
        uint32_t v = 0;
        for (int i = 0; i < 4; ++i)
            v |= static_cast<uint32_t>(byte()) << (8 * i);
        return v;
    }
    int32_t i32() { return static_cast<int32_t>(u32()); }

private:
    const uint8_t *data_;
    size_t size_;
    size_t pos_ = 0;
};

// splitmix64: choices that need not come from the input.
class choices {
public:
    explicit choices(uint64_t seed) : state_(seed) {}
    uint64_t next()
    {
        uint64_t x = state_ += 0x9E3779B97F4A7C15ull;
        x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ull;
        x = (x ^ (x >> 27)) * 0x94D049BB133111EBull;
        return x ^ (x >> 31);
    }
    uint64_t below(uint64_t n) { return n == 0 ? 0 : next() % n; }

private:
    uint64_t state_;
};

// This process's scratch file, removed when the process exits normally (the
// run script removes what a crashed process leaves).
inline const std::string &scratch_path(const char *target)
{
    // Never freed: the exit handler still needs it after static destructors.
    static const std::string *path = [target] {
        auto *p = new std::string("/dev/shm/netshm-" + std::string(target) + "-" + std::to_string(::getpid()));
        std::atexit([] { ::unlink(scratch_path(nullptr).c_str()); });
        return p;
    }();
    return *path;
}

// Replaces the scratch file's contents with bytes.
inline void write_scratch(const std::string &path, const uint8_t *bytes, size_t size)
{
    const int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0)
        finding("cannot write the scratch file " + path + ": " + std::strerror(errno));
    size_t done = 0;
    while (done < size) {
        const ssize_t n = ::write(fd, bytes + done, size - done);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            finding("cannot write the scratch file " + path + ": " + std::strerror(errno));
        done += static_cast<size_t>(n);
    }
    ::close(fd);
}

// The scratch file's bytes.
inline std::string read_scratch(const std::string &path)
{
    std::string bytes;
    const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        finding("cannot read the scratch file " + path + ": " + std::strerror(errno));
    char buffer[4096];
    for (;;) {
        const ssize_t n = ::read(fd, buffer, sizeof buffer);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            finding("cannot read the scratch file " + path + ": " + std::strerror(errno));
        if (n == 0)
            break;
        bytes.append(buffer, static_cast<size_t>(n));
    }
    ::close(fd);
    return bytes;
}

inline uint64_t file_size(const std::string &path)
{
    struct stat st {};
    if (::stat(path.c_str(), &st) != 0)
        finding("cannot stat the scratch file " + path + ": " + std::strerror(errno));
    return static_cast<uint64_t>(st.st_size);
}

} // namespace netshm_fuzz
