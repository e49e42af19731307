// spate_native: zero-copy file -> socket sends with Linux sendfile(2).
//
// JavaScript API (wrapped by src/native/sendfile.ts):
//   sendfile(socketFd, fileFd, position, length[, stallTimeoutMs]) -> Promise<number>
//     Sends `length` bytes of `fileFd` starting at `position` to `socketFd` and resolves
//     with the number of bytes sent (=== length). The transfer runs on the libuv thread
//     pool, on private duplicates (F_DUPFD_CLOEXEC) of both fds that are closed before the
//     promise settles. The file's own offset is never moved (sendfile is given an off_t
//     variable) and the caller's fds are never closed: the caller owns them.
//     EAGAIN on the non-blocking socket -> poll(POLLOUT) in slices of at most 1 s; after
//     `stallTimeoutMs` (default 30000) without one byte of progress -> ETIMEDOUT.
//     EINTR -> retry. sendfile returning 0 (file shorter than position+length) -> reject.
//     Bad arguments throw a TypeError synchronously. Failures reject with an Error whose
//     `code` is Node-style ('EPIPE', 'ECONNRESET', 'EBADF', 'ETIMEDOUT',
//     'ERR_SENDFILE_EOF', ...), plus `errno`, `syscall` and `bytesSent`.
//   setSocketBufferSizes(socketFd, sendBytes, receiveBytes) -> undefined
//     setsockopt SO_SNDBUF / SO_RCVBUF on a socket (Kafka's socket.send.buffer.bytes and
//     socket.receive.buffer.bytes); a size of -1 leaves that one to the OS (autotuning).
//     Node has no API for these on TCP sockets. Throws an Error with `code` on failure.
//   sendChunks(socketFd, chunks, stallTimeoutMs, copyStepBytes) -> Promise<number>, sendChunksCalls() -> number
//     A whole response (Buffers and file regions, in order) written by the addon's sender
//     thread with writev(2) and sendfile(2) (or pread(2) + write(2) when copyStepBytes > 0): see
//     response-sender.cc. One that sends regions by sendfile counts in sendfileCalls().
//   shutdownSocket(socketFd) -> undefined
//     shutdown(2) both directions (ENOTCONN ignored): ends a response in flight on the sender
//     thread, and a receive in flight on the frame receiver.
//   receiveInto(socketFd, target, stallTimeoutMs[, thread]) -> Promise<number>, receiveIntoCalls() -> number
//     Reads from the socket into the Uint8Array `target` until it is full, on one of the addon's
//     frame receiver threads (response-sender.cc): the rest of a large produce request, so that its
//     bytes are copied out of the kernel by that thread rather than by the main thread.
//   sendfileCalls() -> number
//     How many sendfile operations this addon instance has started (argument validation
//     passed, including zero-length ones) since it was loaded.
//   crc32c(bytes, start, end, previous) / crc32cPortable(...) -> number
//     CRC-32C of bytes[start, end) continuing from `previous` (crc32c.cc): with the CPU's
//     instruction when it has one / always with the portable table. crc32cHardware() ->
//     boolean and crc32cImplementation() -> "sse4.2" | "armv8-crc32" | "slice-by-16" say
//     which one crc32c uses. Bad arguments throw TypeError, a range past the end RangeError.
//
// SIGPIPE: Node ignores SIGPIPE, so a write to a reset connection comes back as EPIPE;
// this file does not touch signal handling.

#include <napi.h>

#include "crc32c.h"
#include "record-scan.h"
#include "response-sender.h"

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <string>

#if defined(__linux__)
#include <fcntl.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/sendfile.h>
#include <unistd.h>
#include <sys/types.h>
#include <uv.h>
#endif

namespace {

// Number.MAX_SAFE_INTEGER: positions and lengths must stay exactly representable in JS.
constexpr double kMaxSafeInteger = 9007199254740991.0;
// Linux transfers at most 0x7ffff000 bytes per sendfile call anyway.
constexpr int64_t kMaxChunk = 0x7ffff000;
// One poll(POLLOUT) wait is at most this long; the stall bound is checked between waits.
constexpr int kPollSliceMs = 1000;
// Give up after this long without a single byte of progress (overridable per call).
constexpr int64_t kDefaultStallTimeoutMs = 30000;

const char* TypeName(const Napi::Value& value) {
  switch (value.Type()) {
    case napi_undefined: return "undefined";
    case napi_null: return "null";
    case napi_boolean: return "boolean";
    case napi_number: return "number";
    case napi_string: return "string";
    case napi_symbol: return "symbol";
    case napi_object: return "object";
    case napi_function: return "function";
    case napi_external: return "external";
    case napi_bigint: return "bigint";
  }
  return "unknown";
}

// Reads a JS number that must be a non-negative safe integer no larger than `max`.
int64_t IntegerArgument(const Napi::CallbackInfo& info, size_t index, const char* name, double max) {
  Napi::Env env = info.Env();
  Napi::Value value = info[index];
  if (!value.IsNumber()) {
    throw Napi::TypeError::New(env, std::string("sendfile: ") + name + " must be a number, got " + TypeName(value));
  }
  double d = value.As<Napi::Number>().DoubleValue();
  if (!std::isfinite(d) || std::trunc(d) != d) {
    throw Napi::TypeError::New(env, std::string("sendfile: ") + name + " must be an integer, got " +
                                        value.ToString().Utf8Value());
  }
  if (d < 0) {
    throw Napi::TypeError::New(env, std::string("sendfile: ") + name + " must be non-negative, got " +
                                        value.ToString().Utf8Value());
  }
  if (d > max) {
    throw Napi::TypeError::New(env, std::string("sendfile: ") + name + " is too large: " +
                                        value.ToString().Utf8Value());
  }
  return static_cast<int64_t>(d);
}

#if defined(__linux__)

// strerror_r has a GNU (char*) and an XSI (int) flavour; accept either.
[[maybe_unused]] const char* PickStrerror(int result, const char* buffer) {
  return result == 0 ? buffer : "Unknown error";
}
[[maybe_unused]] const char* PickStrerror(const char* result, const char*) { return result; }

std::string ErrnoDescription(int error) {
  char buffer[256];
  buffer[0] = '\0';
  return PickStrerror(strerror_r(error, buffer, sizeof buffer), buffer);
}

// Node-style code ("EPIPE") for an errno value. On Unix, libuv's error codes are -errno.
std::string ErrnoCode(int error) { return uv_err_name(-error); }

class SendFileWorker : public Napi::AsyncWorker {
 public:
  // `socket_dup`/`file_dup` are private duplicates of the caller's fds, owned (and closed) by
  // this worker; `socket_fd`/`file_fd` are the caller's numbers, used only in messages.
  SendFileWorker(Napi::Env env, Napi::Promise::Deferred deferred, int socket_fd, int file_fd, int socket_dup,
                 int file_dup, int64_t position, int64_t length, int64_t stall_timeout_ms, bool return_when_full)
      : Napi::AsyncWorker(env, "spate:sendfile"),
        deferred_(deferred),
        socket_fd_(socket_fd),
        file_fd_(file_fd),
        socket_dup_(socket_dup),
        file_dup_(file_dup),
        position_(position),
        length_(length),
        stall_timeout_ms_(stall_timeout_ms),
        return_when_full_(return_when_full) {}

  ~SendFileWorker() override { CloseDuplicates(); }

 protected:
  // Thread pool: no JS, no N-API calls, no exceptions.
  void Execute() override {
    Transfer();
    // Close our duplicates before the promise settles, so the caller sees no extra fds.
    CloseDuplicates();
  }

  void Transfer() {
    using Clock = std::chrono::steady_clock;
    off_t offset = static_cast<off_t>(position_);
    Clock::time_point last_progress = Clock::now();
    while (sent_ < length_) {
      int64_t remaining = length_ - sent_;
      size_t chunk = static_cast<size_t>(remaining > kMaxChunk ? kMaxChunk : remaining);
      ssize_t n = ::sendfile(socket_dup_, file_dup_, &offset, chunk);
      if (n > 0) {
        sent_ += n;
        last_progress = Clock::now();
        continue;
      }
      if (n == 0) {
        // The file ended before `length` bytes: report instead of spinning.
        failure_ = Failure::kEndOfFile;
        end_offset_ = static_cast<int64_t>(offset);
        return;
      }
      int error = errno;
      if (error == EINTR) continue;
      if (error != EAGAIN && error != EWOULDBLOCK) {
        failure_ = Failure::kErrno;
        errno_ = error;
        syscall_ = "sendfile";
        return;
      }
      // The caller waits for writability itself (without holding a pool thread): report what went out.
      if (return_when_full_) return;
      // Non-blocking socket is full: wait (bounded) until it is writable again.
      for (;;) {
        int64_t waited = std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - last_progress).count();
        if (waited >= stall_timeout_ms_) {
          failure_ = Failure::kTimeout;
          return;
        }
        int slice = static_cast<int>(std::min<int64_t>(kPollSliceMs, stall_timeout_ms_ - waited));
        struct pollfd pfd;
        pfd.fd = socket_dup_;
        pfd.events = POLLOUT;
        pfd.revents = 0;
        int ready = ::poll(&pfd, 1, slice);
        if (ready > 0) {
          if (pfd.revents & POLLNVAL) {
            failure_ = Failure::kErrno;
            errno_ = EBADF;
            syscall_ = "poll";
            return;
          }
          // Writable, or POLLERR/POLLHUP: the next sendfile reports the socket error.
          break;
        }
        if (ready == 0) continue;
        int poll_error = errno;
        if (poll_error == EINTR) continue;
        failure_ = Failure::kErrno;
        errno_ = poll_error;
        syscall_ = "poll";
        return;
      }
    }
  }

  // Main thread: settle the promise.
  void OnOK() override {
    Napi::Env env = Env();
    Napi::HandleScope scope(env);
    switch (failure_) {
      case Failure::kNone:
        deferred_.Resolve(Napi::Number::New(env, static_cast<double>(sent_)));
        return;
      case Failure::kErrno: {
        std::string code = ErrnoCode(errno_);
        std::string message = "sendfile failed: " + code + " (" + ErrnoDescription(errno_) + ")" +
                              (syscall_ == "sendfile" ? "" : " in " + syscall_) + " after " +
                              std::to_string(sent_) + " of " + std::to_string(length_) + " bytes (socket fd " +
                              std::to_string(socket_fd_) + ", file fd " + std::to_string(file_fd_) + ")";
        Reject(message, code, -errno_);
        return;
      }
      case Failure::kTimeout: {
        std::string message = "sendfile failed: ETIMEDOUT (socket fd " + std::to_string(socket_fd_) +
                              " not writable for " + std::to_string(stall_timeout_ms_) + " ms) after " +
                              std::to_string(sent_) + " of " + std::to_string(length_) + " bytes";
        Reject(message, "ETIMEDOUT", -ETIMEDOUT);
        return;
      }
      case Failure::kEndOfFile: {
        std::string message = "sendfile failed: ERR_SENDFILE_EOF (file fd " + std::to_string(file_fd_) +
                              " ended at offset " + std::to_string(end_offset_) + ") after " + std::to_string(sent_) +
                              " of " + std::to_string(length_) + " bytes from position " + std::to_string(position_);
        Reject(message, "ERR_SENDFILE_EOF", 0);
        return;
      }
    }
  }

  void OnError(const Napi::Error& error) override { deferred_.Reject(error.Value()); }

 private:
  enum class Failure { kNone, kErrno, kTimeout, kEndOfFile };

  void CloseDuplicates() {
    if (socket_dup_ >= 0) ::close(socket_dup_);
    if (file_dup_ >= 0) ::close(file_dup_);
    socket_dup_ = -1;
    file_dup_ = -1;
  }

  void Reject(const std::string& message, const std::string& code, int errno_value) {
    Napi::Env env = Env();
    Napi::Error error = Napi::Error::New(env, message);
    error.Set("code", Napi::String::New(env, code));
    if (errno_value != 0) error.Set("errno", Napi::Number::New(env, errno_value));
    error.Set("syscall", Napi::String::New(env, syscall_));
    error.Set("bytesSent", Napi::Number::New(env, static_cast<double>(sent_)));
    deferred_.Reject(error.Value());
  }

  Napi::Promise::Deferred deferred_;
  const int socket_fd_;
  const int file_fd_;
  int socket_dup_;
  int file_dup_;
  const int64_t position_;
  const int64_t length_;
  const int64_t stall_timeout_ms_;
  const bool return_when_full_;
  int64_t sent_ = 0;
  Failure failure_ = Failure::kNone;
  int errno_ = 0;
  std::string syscall_ = "sendfile";
  int64_t end_offset_ = 0;
};

#endif  // __linux__

class SpateNative : public Napi::Addon<SpateNative> {
 public:
  SpateNative(Napi::Env env, Napi::Object exports) {
#if !defined(__linux__)
    throw Napi::Error::New(env, "spate_native: the sendfile fast path is only implemented on Linux");
#endif
    DefineAddon(exports, {
                             InstanceMethod("sendfile", &SpateNative::SendFile),
                             InstanceMethod("sendfileCalls", &SpateNative::SendFileCalls),
                             InstanceMethod("sendChunks", &SpateNative::SendChunks),
                             InstanceMethod("sendChunksCalls", &SpateNative::SendChunksCalls),
                             InstanceMethod("shutdownSocket", &SpateNative::ShutdownSocket),
                             InstanceMethod("receiveInto", &SpateNative::ReceiveInto),
                             InstanceMethod("receiveIntoCalls", &SpateNative::ReceiveIntoCalls),
                             InstanceMethod("setSocketBufferSizes", &SpateNative::SetSocketBufferSizes),
                             InstanceMethod("crc32c", &SpateNative::Crc32c),
                             InstanceMethod("crc32cPortable", &SpateNative::Crc32cPortable),
                             InstanceMethod("crc32cHardware", &SpateNative::Crc32cHardware),
                             InstanceMethod("crc32cImplementation", &SpateNative::Crc32cImplementation),
                             InstanceMethod("scanProducedRecords", &SpateNative::ScanProducedRecords),
                         });
  }

 private:
  Napi::Value SendFile(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    if (info.Length() < 4) {
      throw Napi::TypeError::New(env, "sendfile: expected (socketFd, fileFd, position, length[, stallTimeoutMs[, returnWhenFull]])");
    }
    int64_t socket_fd = IntegerArgument(info, 0, "socketFd", 2147483647.0);
    int64_t file_fd = IntegerArgument(info, 1, "fileFd", 2147483647.0);
    int64_t position = IntegerArgument(info, 2, "position", kMaxSafeInteger);
    int64_t length = IntegerArgument(info, 3, "length", kMaxSafeInteger);
    if (static_cast<double>(position) + static_cast<double>(length) > kMaxSafeInteger) {
      throw Napi::TypeError::New(env, "sendfile: position + length exceeds Number.MAX_SAFE_INTEGER");
    }
    int64_t stall_timeout_ms = kDefaultStallTimeoutMs;
    if (info.Length() > 4 && !info[4].IsUndefined()) {
      stall_timeout_ms = IntegerArgument(info, 4, "stallTimeoutMs", 2147483647.0);
      if (stall_timeout_ms == 0) throw Napi::TypeError::New(env, "sendfile: stallTimeoutMs must be positive");
    }
    bool return_when_full = false;
    if (info.Length() > 5 && !info[5].IsUndefined()) {
      if (!info[5].IsBoolean()) throw Napi::TypeError::New(env, "sendfile: returnWhenFull must be a boolean");
      return_when_full = info[5].As<Napi::Boolean>().Value();
    }
    calls_ += 1;
    if (length == 0) {
      Napi::Promise::Deferred deferred = Napi::Promise::Deferred::New(env);
      deferred.Resolve(Napi::Number::New(env, 0));
      return deferred.Promise();
    }
#if defined(__linux__)
    Napi::Promise::Deferred deferred = Napi::Promise::Deferred::New(env);
    // Work on private duplicates of both fds: if the caller's socket is destroyed (e.g. Node
    // sees ECONNRESET on its read side and closes the fd) or the file is closed while the
    // transfer runs on the thread pool, the numbers may be reused by unrelated files; the
    // duplicates keep pointing at the original socket and file. Duplicates share the open
    // file description, so O_NONBLOCK is the caller's; the file offset is untouched because
    // sendfile is given its own offset. The caller's fds are never closed.
    int socket_dup = ::fcntl(static_cast<int>(socket_fd), F_DUPFD_CLOEXEC, 0);
    if (socket_dup < 0) return RejectedWithErrno(env, deferred, errno, socket_fd, file_fd, length);
    int file_dup = ::fcntl(static_cast<int>(file_fd), F_DUPFD_CLOEXEC, 0);
    if (file_dup < 0) {
      int error = errno;
      ::close(socket_dup);
      return RejectedWithErrno(env, deferred, error, socket_fd, file_fd, length);
    }
    auto* worker = new SendFileWorker(env, deferred, static_cast<int>(socket_fd), static_cast<int>(file_fd),
                                      socket_dup, file_dup, position, length, stall_timeout_ms, return_when_full);
    worker->Queue();  // the worker deletes itself after OnOK/OnError
    return deferred.Promise();
#else
    (void)socket_fd;
    (void)file_fd;
    (void)position;
    (void)stall_timeout_ms;
    throw Napi::Error::New(env, "sendfile: not supported on this platform");
#endif
  }

#if defined(__linux__)
  static Napi::Value RejectedWithErrno(Napi::Env env, Napi::Promise::Deferred deferred, int error, int64_t socket_fd,
                                       int64_t file_fd, int64_t length) {
    std::string code = ErrnoCode(error);
    Napi::Error rejection = Napi::Error::New(
        env, "sendfile failed: " + code + " (" + ErrnoDescription(error) + ") after 0 of " + std::to_string(length) +
                 " bytes (socket fd " + std::to_string(socket_fd) + ", file fd " + std::to_string(file_fd) + ")");
    rejection.Set("code", Napi::String::New(env, code));
    rejection.Set("errno", Napi::Number::New(env, -error));
    rejection.Set("syscall", Napi::String::New(env, "dup"));
    rejection.Set("bytesSent", Napi::Number::New(env, 0));
    deferred.Reject(rejection.Value());
    return deferred.Promise();
  }
#endif

  // crc32c(bytes: Uint8Array, start: number, end: number, previous: number): number
  Napi::Value Crc32c(const Napi::CallbackInfo& info) { return CrcOf(info, "crc32c", spate::Crc32c); }

  // crc32cPortable(bytes, start, end, previous): the same with the portable table (bench/crc32c.ts, tests).
  Napi::Value Crc32cPortable(const Napi::CallbackInfo& info) { return CrcOf(info, "crc32cPortable", spate::Crc32cPortable); }

  static Napi::Value CrcOf(const Napi::CallbackInfo& info, const char* name,
                           uint32_t (*crc32c)(uint32_t, const uint8_t*, size_t)) {
    Napi::Env env = info.Env();
    if (info.Length() < 4 || !info[0].IsTypedArray()) {
      throw Napi::TypeError::New(env, std::string(name) + ": expected (bytes: Uint8Array, start, end, previous)");
    }
    Napi::TypedArray array = info[0].As<Napi::TypedArray>();
    if (array.TypedArrayType() != napi_uint8_array) throw Napi::TypeError::New(env, std::string(name) + ": bytes must be a Uint8Array");
    Napi::Uint8Array bytes = array.As<Napi::Uint8Array>();
    int64_t start = IntegerArgument(info, 1, "start", kMaxSafeInteger);
    int64_t end = IntegerArgument(info, 2, "end", kMaxSafeInteger);
    int64_t previous = IntegerArgument(info, 3, "previous", 4294967295.0);
    if (start > end || static_cast<size_t>(end) > bytes.ByteLength()) {
      throw Napi::RangeError::New(env, std::string(name) + ": range " + std::to_string(start) + ".." + std::to_string(end) +
                                           " is outside the " + std::to_string(bytes.ByteLength()) + " bytes");
    }
    uint32_t crc = crc32c(static_cast<uint32_t>(previous), bytes.Data() + start, static_cast<size_t>(end - start));
    return Napi::Number::New(env, static_cast<double>(crc));
  }

  Napi::Value Crc32cHardware(const Napi::CallbackInfo& info) { return Napi::Boolean::New(info.Env(), spate::Crc32cHardware()); }

  Napi::Value Crc32cImplementation(const Napi::CallbackInfo& info) {
    return Napi::String::New(info.Env(), spate::Crc32cImplementation());
  }

  // scanProducedRecords(bytes: Uint8Array, start, end, count, baseTimestamp, earliest, latest, compacted):
  // the records' largest timestamp when all are well formed and within the bounds, else null
  // (record-scan.h; the caller then walks them in JavaScript for the verdict).
  Napi::Value ScanProducedRecords(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    if (info.Length() < 8 || !info[0].IsTypedArray() || info[0].As<Napi::TypedArray>().TypedArrayType() != napi_uint8_array ||
        !info[4].IsNumber() || !info[5].IsNumber() || !info[6].IsNumber() || !info[7].IsBoolean()) {
      throw Napi::TypeError::New(env, "scanProducedRecords: expected (bytes: Uint8Array, start, end, count, baseTimestamp, earliest, latest, compacted: boolean)");
    }
    Napi::Uint8Array bytes = info[0].As<Napi::Uint8Array>();
    spate::RecordScan scan;
    scan.data = bytes.Data();
    scan.start = static_cast<size_t>(IntegerArgument(info, 1, "start", kMaxSafeInteger));
    scan.end = static_cast<size_t>(IntegerArgument(info, 2, "end", kMaxSafeInteger));
    scan.count = IntegerArgument(info, 3, "count", 2147483647.0);
    if (scan.start > scan.end || scan.end > bytes.ByteLength()) {
      throw Napi::RangeError::New(env, "scanProducedRecords: range " + std::to_string(scan.start) + ".." + std::to_string(scan.end) +
                                           " is outside the " + std::to_string(bytes.ByteLength()) + " bytes");
    }
    scan.base_timestamp = info[4].As<Napi::Number>().DoubleValue();
    scan.earliest = info[5].As<Napi::Number>().DoubleValue();
    scan.latest = info[6].As<Napi::Number>().DoubleValue();
    scan.compacted = info[7].As<Napi::Boolean>().Value();
    double max_timestamp = 0;
    if (!spate::ScanProducedRecords(scan, &max_timestamp)) return env.Null();
    return Napi::Number::New(env, max_timestamp);
  }

  // setSocketBufferSizes(socketFd, sendBytes, receiveBytes): -1 leaves a size to the OS.
  Napi::Value SetSocketBufferSizes(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    if (info.Length() < 3) throw Napi::TypeError::New(env, "setSocketBufferSizes: expected (socketFd, sendBytes, receiveBytes)");
    int64_t socket_fd = IntegerArgument(info, 0, "socketFd", 2147483647.0);
    const int options[2] = {
#if defined(__linux__)
        SO_SNDBUF, SO_RCVBUF
#else
        0, 0
#endif
    };
    for (size_t index = 0; index < 2; index++) {
      Napi::Value value = info[index + 1];
      if (!value.IsNumber()) throw Napi::TypeError::New(env, "setSocketBufferSizes: sizes must be numbers");
      double size = value.As<Napi::Number>().DoubleValue();
      if (size == -1) continue;
      if (!(size >= 1 && size <= 2147483647.0) || std::floor(size) != size) {
        throw Napi::TypeError::New(env, "setSocketBufferSizes: a size must be -1 or a positive int32");
      }
#if defined(__linux__)
      int bytes = static_cast<int>(size);
      if (::setsockopt(static_cast<int>(socket_fd), SOL_SOCKET, options[index], &bytes, sizeof(bytes)) != 0) {
        int error = errno;
        Napi::Error failure = Napi::Error::New(env, std::string("setsockopt failed: ") + ErrnoDescription(error));
        failure.Set("code", Napi::String::New(env, ErrnoCode(error)));
        throw failure;
      }
#else
      (void)options;
      throw Napi::Error::New(env, "setSocketBufferSizes: not supported on this platform");
#endif
    }
    return env.Undefined();
  }

  Napi::Value SendFileCalls(const Napi::CallbackInfo& info) {
    return Napi::Number::New(info.Env(), static_cast<double>(calls_));
  }

  // sendChunks(socketFd, chunks, stallTimeoutMs, copyStepBytes): a whole response by the sender thread (response-sender.cc).
  Napi::Value SendChunks(const Napi::CallbackInfo& info) { return sender_.SendChunks(info, calls_); }

  Napi::Value SendChunksCalls(const Napi::CallbackInfo& info) { return Napi::Number::New(info.Env(), sender_.Calls()); }

  Napi::Value ReceiveInto(const Napi::CallbackInfo& info) { return sender_.ReceiveInto(info); }

  Napi::Value ReceiveIntoCalls(const Napi::CallbackInfo& info) { return Napi::Number::New(info.Env(), sender_.Receives()); }

  // shutdownSocket(socketFd): shutdown(2) both directions of a socket, so that a response the
  // sender thread is writing (on its own duplicate of the fd) fails at once and the peer sees
  // the connection end, before the caller closes its fd. A socket already shut down is fine.
  Napi::Value ShutdownSocket(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    if (info.Length() < 1) throw Napi::TypeError::New(env, "shutdownSocket: expected (socketFd)");
    int64_t socket_fd = IntegerArgument(info, 0, "socketFd", 2147483647.0);
#if defined(__linux__)
    if (::shutdown(static_cast<int>(socket_fd), SHUT_RDWR) != 0 && errno != ENOTCONN) {
      int error = errno;
      Napi::Error failure = Napi::Error::New(env, std::string("shutdown failed: ") + ErrnoDescription(error));
      failure.Set("code", Napi::String::New(env, ErrnoCode(error)));
      throw failure;
    }
#else
    (void)socket_fd;
#endif
    return env.Undefined();
  }

  uint64_t calls_ = 0;
  spate::ResponseSenderHolder sender_;
};

}  // namespace

NODE_API_ADDON(SpateNative)
