// The response sender (fetch.zero.copy=on): whole responses written from one native thread.
//
// JavaScript API (through the addon, wrapped by src/native/sendfile.ts):
//   sendChunks(socketFd, chunks, stallTimeoutMs, copyStepBytes) -> Promise<number>
//     `chunks` is an array of Buffers and file regions `{ fd, position, length }`. They are
//     written to the socket in order — runs of buffers with one writev(2), regions with
//     sendfile(2) from the page cache (copyStepBytes 0), or by pread(2) into a staging buffer
//     of copyStepBytes (taken at the response's first region and given back when it is done:
//     one per response in flight, so one per connection at most; kStagingKept of them are
//     kept for reuse, as fresh memory costs a page fault per 4 KiB) and write(2) — and the promise
//     resolves with the byte count once
//     the kernel has taken every byte. The socket must be non-blocking and nothing else may
//     write to it meanwhile (the caller's own queue empty). The caller's fds are never closed
//     and never moved. The thread writes to a private duplicate of the socket
//     (F_DUPFD_CLOEXEC), closed before the promise settles: a socket Node closes meanwhile
//     (its peer left) may have its number reused at once, by a new connection. The files are
//     read through the caller's own fds, which the caller keeps open until the promise
//     settles (the broker holds the segment readers until then): one descriptor per response
//     in flight, whatever its number of regions. The array (so its Buffers) is kept alive
//     until then too.
//     Failures reject like sendfile()'s (code, errno, syscall, bytesSent): EPIPE, ECONNRESET,
//     ETIMEDOUT after `stallTimeoutMs` without progress, ERR_SENDFILE_EOF when a file is
//     shorter than its region. Part of the response may then be on the wire: the caller
//     closes the connection.
//   receiveInto(socketFd, target, stallTimeoutMs[, thread]) -> Promise<number>
//     The same machinery in the other direction, on a frame receiver thread (`thread`, 0-63, each
//     started on first use, named spate-recv-<thread>; the sender is spate-sender): recv(2)
//     on a private duplicate of the socket into the Uint8Array `target` (kept alive until the
//     promise settles) until it is full, waiting for readability with epoll. Resolves with the
//     byte count; rejects with ERR_PEER_CLOSED when the peer ends the connection first,
//     ETIMEDOUT after `stallTimeoutMs` without a byte, or the recv error. A shutdown(2) of the
//     socket ends a receive in flight (ERR_PEER_CLOSED). The caller reads nothing from the
//     socket meanwhile.
//
// Why a thread of its own: the per-region sendfile() of sendfile.cc costs the main thread an
// event-loop round trip per region and per socket-full wait, and a pool thread that polls
// would be held by a slow consumer. Here every response in flight, on every connection, is
// progressed by one thread that waits for writability with epoll (one-shot registrations);
// the main thread hands a response over once and hears back once. Each turn moves at most
// kTurnBytes of one response before the next ready one gets its turn.

#include "response-sender.h"

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <deque>
#include <mutex>
#include <string>
#include <system_error>
#include <thread>
#include <unordered_set>
#include <vector>

#if defined(__linux__)
#include <fcntl.h>
#include <pthread.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/sendfile.h>
#include <sys/uio.h>
#include <unistd.h>
#include <uv.h>
#endif

namespace spate {

#if defined(__linux__)

namespace {

using Clock = std::chrono::steady_clock;

constexpr double kMaxSafeInteger = 9007199254740991.0;
// Bytes one response may move in one turn before the next ready response gets the thread.
constexpr int64_t kTurnBytes = 4 * 1024 * 1024;
// Linux moves at most this much per sendfile call anyway.
constexpr int64_t kMaxSendfileChunk = 0x7ffff000;
constexpr int kMaxIovecs = 64;
// epoll_wait never sleeps longer than this while responses wait, so stalls are noticed.
constexpr int kStallCheckMs = 1000;
// copy mode: the largest staging buffer a caller may ask for, and how many free ones are kept.
constexpr double kMaxCopyStepBytes = 64 * 1024 * 1024;
constexpr size_t kStagingKept = 8;
// Frame receiver threads an addon instance may start (receiveInto's `thread`).
constexpr double kMaxReceivers = 64;

std::string ErrnoDescription(int error) {
  char buffer[256];
  buffer[0] = '\0';
#if defined(__GLIBC__) && defined(_GNU_SOURCE)
  return strerror_r(error, buffer, sizeof buffer);
#else
  return strerror_r(error, buffer, sizeof buffer) == 0 ? buffer : "Unknown error";
#endif
}

std::string ErrnoCode(int error) { return uv_err_name(-error); }

int64_t IntegerField(Napi::Env env, const Napi::Value& value, const std::string& name, double max, const std::string& call = "sendChunks") {
  if (!value.IsNumber()) throw Napi::TypeError::New(env, call + ": " + name + " must be a number");
  double d = value.As<Napi::Number>().DoubleValue();
  if (!std::isfinite(d) || std::trunc(d) != d || d < 0 || d > max) {
    throw Napi::TypeError::New(env, call + ": " + name + " must be an integer from 0 to " + std::to_string(static_cast<int64_t>(max)));
  }
  return static_cast<int64_t>(d);
}

struct Piece {
  const uint8_t* data = nullptr;  // a buffer's bytes (kept alive by Job::keep)
  int file = -1;                  // or the caller's fd of a file (kept open by the caller)
  int64_t position = 0;
  int64_t length = 0;
};

enum class Failure { kNone, kErrno, kTimeout, kEndOfFile, kPeerClosed };

}  // namespace

struct SendJob {
  // Main thread only.
  Napi::Promise::Deferred deferred;
  Napi::Reference<Napi::Value> keep;
  // Sender thread (after hand-over).
  int socket_fd = -1;  // the caller's number, for messages
  int socket = -1;     // private duplicate of the socket's fd
  std::vector<Piece> pieces;
  size_t index = 0;
  int64_t done_in_piece = 0;
  int64_t sent = 0;
  int64_t total = 0;
  int64_t stall_timeout_ms = 30000;
  // receiveInto: read into pieces[0] (a caller's buffer, kept alive by keep) until it is full.
  bool receive = false;
  // copy mode: the staging buffer, its bytes [staged_done, staged) not yet written, and how
  // much of the current region has been read into it so far.
  int64_t copy_step = 0;  // 0: sendfile
  std::vector<uint8_t> staging;
  int64_t staged = 0;
  int64_t staged_done = 0;
  int64_t read_in_piece = 0;
  Clock::time_point last_progress;
  bool registered = false;
  bool waiting = false;
  Failure failure = Failure::kNone;
  int error = 0;
  const char* syscall = "sendfile";
  int64_t end_offset = 0;

  explicit SendJob(Napi::Env env) : deferred(Napi::Promise::Deferred::New(env)) {}

  // The socket's duplicate; the pieces' fds are the caller's and never closed here.
  void CloseDuplicates() {
    if (socket >= 0) ::close(socket);
    socket = -1;
  }
};

class ResponseSender {
 public:
  // `name` names the thread's completion channel ("spate:response-sender", "spate:frame-receiver");
  // `thread_name` the thread itself (at most 15 characters: /proc/<pid>/task/<tid>/comm, top -H).
  ResponseSender(Napi::Env env, const char* name, std::string thread_name) : env_(env), thread_name_(std::move(thread_name)) {
    epoll_ = ::epoll_create1(EPOLL_CLOEXEC);
    wake_ = ::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    if (epoll_ < 0 || wake_ < 0) {
      int error = errno;
      if (epoll_ >= 0) ::close(epoll_);
      if (wake_ >= 0) ::close(wake_);
      throw Napi::Error::New(env, std::string(name) + ": cannot create the thread's epoll/eventfd: " + ErrnoDescription(error));
    }
    struct epoll_event event;
    std::memset(&event, 0, sizeof event);
    event.events = EPOLLIN;
    event.data.ptr = nullptr;
    ::epoll_ctl(epoll_, EPOLL_CTL_ADD, wake_, &event);
    napi_value resource_name;
    napi_create_string_utf8(env, name, NAPI_AUTO_LENGTH, &resource_name);
    napi_status status = napi_create_threadsafe_function(env, nullptr, nullptr, resource_name, 0, 1, nullptr, nullptr, nullptr, &Settle, &settle_);
    if (status != napi_ok) {
      ::close(epoll_);
      ::close(wake_);
      throw Napi::Error::New(env, std::string(name) + ": cannot create the thread's completion channel");
    }
    // Completions must not keep the process alive by themselves: the sockets do.
    napi_unref_threadsafe_function(env, settle_);
    try {
      thread_ = std::thread([this] { Run(); });
    } catch (const std::system_error& error) {
      // The OS refused a thread (a pids or threads limit): a JavaScript error the caller handles,
      // not std::terminate for the whole process.
      napi_release_threadsafe_function(settle_, napi_tsfn_abort);
      ::close(epoll_);
      ::close(wake_);
      throw Napi::Error::New(env, std::string(name) + ": cannot start the thread: " + error.what());
    }
    // Stopped by the environment's cleanup, before Node closes the completion channels: with two
    // threads (sender and receivers) a channel's close can end the environment, and another
    // thread's destructor would then release a channel already freed.
    napi_add_env_cleanup_hook(env, &StopAtCleanup, this);
  }

  ~ResponseSender() {
    if (stopped_) return;
    napi_remove_env_cleanup_hook(env_, &StopAtCleanup, this);
    Stop();
  }

  void Submit(SendJob* job) {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      incoming_.push_back(job);
    }
    Wake();
  }

  // Resolves or rejects the job's promise by its outcome (Node-style error fields); main thread.
  static void SettleInJavaScript(Napi::Env env, SendJob* job) {
    std::string call = job->receive ? "receiveInto" : "sendChunks";
    switch (job->failure) {
      case Failure::kNone:
        job->deferred.Resolve(Napi::Number::New(env, static_cast<double>(job->sent)));
        break;
      case Failure::kErrno:
        Reject(env, job, call + " failed: " + ErrnoCode(job->error) + " (" + ErrnoDescription(job->error) + ") in " + job->syscall,
               ErrnoCode(job->error), -job->error);
        break;
      case Failure::kTimeout:
        Reject(env, job,
               call + " failed: ETIMEDOUT (socket not " + (job->receive ? "readable" : "writable") + " for " + std::to_string(job->stall_timeout_ms) + " ms)",
               "ETIMEDOUT", -ETIMEDOUT);
        break;
      case Failure::kPeerClosed:
        Reject(env, job, call + " failed: ERR_PEER_CLOSED (the peer closed the connection)", "ERR_PEER_CLOSED", 0);
        break;
      case Failure::kEndOfFile:
        Reject(env, job, "sendChunks failed: ERR_SENDFILE_EOF (a file ended at offset " + std::to_string(job->end_offset) + ")",
               "ERR_SENDFILE_EOF", 0);
        break;
    }
  }

 private:
  static void StopAtCleanup(void* self) { static_cast<ResponseSender*>(self)->Stop(); }

  // Stops and joins the thread, frees what it had not settled, and releases the completion channel; once.
  void Stop() {
    if (stopped_) return;
    stopped_ = true;
    {
      std::lock_guard<std::mutex> lock(mutex_);
      stopping_ = true;
    }
    Wake();
    thread_.join();
    // Jobs still in flight when the environment ends (handed over, or left by the thread):
    // their promises can no longer settle. Freed here, on the environment's own thread (its
    // cleanup hook or instance data finalizer: the environment is still there to delete their
    // references).
    for (std::vector<SendJob*>* jobs : {&incoming_, &abandoned_}) {
      for (SendJob* job : *jobs) {
        job->CloseDuplicates();
        delete job;
      }
      jobs->clear();
    }
    napi_release_threadsafe_function(settle_, napi_tsfn_abort);
    ::close(epoll_);
    ::close(wake_);
  }

  void Wake() {
    uint64_t one = 1;
    ssize_t ignored = ::write(wake_, &one, sizeof one);
    (void)ignored;
  }

  // Main thread: settle a finished response's promise and free it.
  static void Settle(napi_env raw_env, napi_value, void*, void* data) {
    SendJob* job = static_cast<SendJob*>(data);
    if (raw_env == nullptr) {
      // The channel is being finalized with this completion still queued (the environment is
      // ending, but still there: deleting the job's reference needs no JavaScript).
      delete job;
      return;
    }
    Napi::Env env(raw_env);
    Napi::HandleScope scope(env);
    try {
      SettleInJavaScript(env, job);
    } catch (const Napi::Error&) {
      // The environment is stopping (a worker's process.exit, FreeEnvironment's last loop
      // turns): JavaScript can no longer run, so the promise cannot settle. Thrown out of
      // this callback it would be std::terminate for the whole process.
    }
    delete job;
  }

  static void Reject(Napi::Env env, SendJob* job, const std::string& what, const std::string& code, int errno_value) {
    std::string message = what + " after " + std::to_string(job->sent) + " of " + std::to_string(job->total) +
                          " bytes (socket fd " + std::to_string(job->socket_fd) + ")";
    Napi::Error error = Napi::Error::New(env, message);
    error.Set("code", Napi::String::New(env, code));
    if (errno_value != 0) error.Set("errno", Napi::Number::New(env, errno_value));
    error.Set("syscall", Napi::String::New(env, job->syscall));
    error.Set("bytesSent", Napi::Number::New(env, static_cast<double>(job->sent)));
    job->deferred.Reject(error.Value());
  }

  enum class Outcome { kDone, kBlocked, kYield };

  void Run() {
    pthread_setname_np(pthread_self(), thread_name_.c_str());
    std::deque<SendJob*> ready;
    std::unordered_set<SendJob*> waiting;
    struct epoll_event events[64];
    for (;;) {
      int timeout = waiting.empty() && ready.empty() ? -1 : ready.empty() ? kStallCheckMs : 0;
      int count = ::epoll_wait(epoll_, events, 64, timeout);
      for (int i = 0; i < count; i++) {
        SendJob* job = static_cast<SendJob*>(events[i].data.ptr);
        if (job == nullptr) {
          uint64_t value;
          ssize_t ignored = ::read(wake_, &value, sizeof value);
          (void)ignored;
          continue;
        }
        // Writable (or in error: the next write says which): its turn comes.
        if (waiting.erase(job) > 0) {
          job->waiting = false;
          ready.push_back(job);
        }
      }
      {
        std::lock_guard<std::mutex> lock(mutex_);
        if (stopping_) {
          abandoned_.insert(abandoned_.end(), ready.begin(), ready.end());
          abandoned_.insert(abandoned_.end(), waiting.begin(), waiting.end());
          return;
        }
        for (SendJob* job : incoming_) {
          job->last_progress = Clock::now();
          ready.push_back(job);
        }
        incoming_.clear();
      }
      // One round: every response ready now gets a turn; those that yield go round again next time.
      for (size_t turns = ready.size(); turns > 0; turns--) {
        SendJob* job = ready.front();
        ready.pop_front();
        Outcome outcome = Progress(job);
        if (outcome == Outcome::kYield) {
          ready.push_back(job);
        } else if (outcome == Outcome::kBlocked) {
          if (!WaitForReady(job)) Finish(job);
          else waiting.insert(job);
        } else {
          Finish(job);
        }
      }
      if (!waiting.empty()) {
        Clock::time_point now = Clock::now();
        for (auto it = waiting.begin(); it != waiting.end();) {
          SendJob* job = *it;
          int64_t idle = std::chrono::duration_cast<std::chrono::milliseconds>(now - job->last_progress).count();
          if (idle < job->stall_timeout_ms) {
            ++it;
            continue;
          }
          it = waiting.erase(it);
          job->failure = Failure::kTimeout;
          job->syscall = "epoll_wait";
          Finish(job);
        }
      }
    }
  }

  // Registers a blocked job's socket for one writability (receive: readability) event; false (and a failure) if it cannot.
  bool WaitForReady(SendJob* job) {
    struct epoll_event event;
    std::memset(&event, 0, sizeof event);
    event.events = (job->receive ? EPOLLIN : EPOLLOUT) | EPOLLONESHOT;
    event.data.ptr = job;
    int op = job->registered ? EPOLL_CTL_MOD : EPOLL_CTL_ADD;
    if (::epoll_ctl(epoll_, op, job->socket, &event) != 0) {
      job->failure = Failure::kErrno;
      job->error = errno;
      job->syscall = "epoll_ctl";
      return false;
    }
    job->registered = true;
    job->waiting = true;
    return true;
  }

  void TakeStaging(SendJob* job) {
    size_t size = static_cast<size_t>(job->copy_step);
    for (size_t at = 0; at < free_staging_.size(); at++) {
      if (free_staging_[at].size() != size) continue;
      job->staging.swap(free_staging_[at]);
      free_staging_.erase(free_staging_.begin() + static_cast<std::ptrdiff_t>(at));
      return;
    }
    job->staging.resize(size);
  }

  void GiveStaging(SendJob* job) {
    if (job->staging.empty()) return;
    if (free_staging_.size() < kStagingKept) free_staging_.push_back(std::move(job->staging));
    job->staging = std::vector<uint8_t>();
  }

  void Finish(SendJob* job) {
    GiveStaging(job);
    if (job->registered) ::epoll_ctl(epoll_, EPOLL_CTL_DEL, job->socket, nullptr);
    job->registered = false;
    job->CloseDuplicates();
    if (napi_call_threadsafe_function(settle_, job, napi_tsfn_nonblocking) != napi_ok) {
      // The environment is ending (the channel is closing): the promise cannot settle. The
      // destructor frees the job after the join.
      abandoned_.push_back(job);
    }
  }

  void Advance(SendJob* job, int64_t bytes) {
    job->sent += bytes;
    job->last_progress = Clock::now();
    while (bytes > 0) {
      Piece& piece = job->pieces[job->index];
      int64_t rest = piece.length - job->done_in_piece;
      if (bytes < rest) {
        job->done_in_piece += bytes;
        return;
      }
      bytes -= rest;
      job->index++;
      job->done_in_piece = 0;
      job->read_in_piece = 0;
    }
  }

  // copy mode, a region: write what is staged, reading the next step first when nothing is.
  ssize_t CopyStep(SendJob* job, const Piece& piece) {
    if (job->staged_done == job->staged) {
      if (job->staging.empty()) TakeStaging(job);
      int64_t rest = piece.length - job->read_in_piece;
      size_t want = static_cast<size_t>(std::min(rest, job->copy_step));
      ssize_t got = ::pread(piece.file, job->staging.data(), want, static_cast<off_t>(piece.position + job->read_in_piece));
      job->syscall = "pread";
      if (got <= 0) return got;
      job->read_in_piece += got;
      job->staged = got;
      job->staged_done = 0;
    }
    ssize_t n = ::write(job->socket, job->staging.data() + job->staged_done, static_cast<size_t>(job->staged - job->staged_done));
    job->syscall = "write";
    if (n > 0) job->staged_done += n;
    return n;
  }

  // receiveInto: recv(2) into the caller's buffer until it is full; at most kTurnBytes a turn.
  Outcome ProgressReceive(SendJob* job) {
    Piece& piece = job->pieces[0];
    int64_t moved = 0;
    job->syscall = "recv";
    while (job->sent < job->total) {
      if (moved >= kTurnBytes) return Outcome::kYield;
      ssize_t n = ::recv(job->socket, const_cast<uint8_t*>(piece.data) + job->sent, static_cast<size_t>(job->total - job->sent), MSG_DONTWAIT);
      if (n > 0) {
        job->sent += n;
        job->last_progress = Clock::now();
        moved += n;
        continue;
      }
      if (n == 0) {
        job->failure = Failure::kPeerClosed;
        return Outcome::kDone;
      }
      // Woken at every segment that arrives: SO_RCVLOWAT would wake it less often (5 % less CPU on
      // this thread, measured), but Linux then clamps the connection's receive window to the
      // low-water mark for good (tcp_set_rcvlowat), which would throttle producers on long links.
      Outcome outcome;
      if (RetryAfter(job, &outcome)) continue;
      return outcome;
    }
    return Outcome::kDone;
  }

  // A call on the socket returned -1: true to call again (EINTR), else `outcome` says whether to
  // wait for the socket (EAGAIN) or that the job has failed with errno.
  static bool RetryAfter(SendJob* job, Outcome* outcome) {
    int error = errno;
    if (error == EINTR) return true;
    if (error == EAGAIN || error == EWOULDBLOCK) {
      *outcome = Outcome::kBlocked;
      return false;
    }
    job->failure = Failure::kErrno;
    job->error = error;
    *outcome = Outcome::kDone;
    return false;
  }

  Outcome Progress(SendJob* job) {
    if (job->receive) return ProgressReceive(job);
    int64_t moved = 0;
    while (job->index < job->pieces.size()) {
      if (moved >= kTurnBytes) return Outcome::kYield;
      Piece& piece = job->pieces[job->index];
      if (piece.length == job->done_in_piece) {
        job->index++;
        job->done_in_piece = 0;
        continue;
      }
      ssize_t n;
      if (piece.file < 0) {
        struct iovec iov[kMaxIovecs];
        int count = 0;
        for (size_t at = job->index; at < job->pieces.size() && count < kMaxIovecs && job->pieces[at].file < 0; at++) {
          int64_t skip = at == job->index ? job->done_in_piece : 0;
          iov[count].iov_base = const_cast<uint8_t*>(job->pieces[at].data + skip);
          iov[count].iov_len = static_cast<size_t>(job->pieces[at].length - skip);
          count++;
        }
        n = ::writev(job->socket, iov, count);
        job->syscall = "writev";
      } else {
        if (job->copy_step > 0) {
          n = CopyStep(job, piece);
          if (n == 0) {
            job->failure = Failure::kEndOfFile;
            job->end_offset = piece.position + job->read_in_piece;
            return Outcome::kDone;
          }
        } else {
          off_t offset = static_cast<off_t>(piece.position + job->done_in_piece);
          int64_t rest = piece.length - job->done_in_piece;
          n = ::sendfile(job->socket, piece.file, &offset, static_cast<size_t>(std::min(rest, kMaxSendfileChunk)));
          job->syscall = "sendfile";
          if (n == 0) {
            job->failure = Failure::kEndOfFile;
            job->end_offset = static_cast<int64_t>(offset);
            return Outcome::kDone;
          }
        }
      }
      if (n > 0) {
        Advance(job, n);
        moved += n;
        continue;
      }
      Outcome outcome;
      if (RetryAfter(job, &outcome)) continue;
      return outcome;
    }
    GiveStaging(job);  // done with every region
    return Outcome::kDone;
  }

  napi_env env_;
  std::string thread_name_;
  bool stopped_ = false;
  int epoll_ = -1;
  int wake_ = -1;
  napi_threadsafe_function settle_ = nullptr;
  std::mutex mutex_;
  std::vector<SendJob*> incoming_;
  std::vector<SendJob*> abandoned_;  // sender thread only: jobs it can no longer settle; freed by the destructor after the join
  std::vector<std::vector<uint8_t>> free_staging_;  // sender thread only
  bool stopping_ = false;
  std::thread thread_;
};

ResponseSenderHolder::ResponseSenderHolder() = default;
ResponseSenderHolder::~ResponseSenderHolder() = default;

Napi::Value ResponseSenderHolder::SendChunks(const Napi::CallbackInfo& info, uint64_t& sendfile_calls) {
  Napi::Env env = info.Env();
  if (info.Length() < 4 || !info[1].IsArray()) {
    throw Napi::TypeError::New(env, "sendChunks: expected (socketFd, chunks: Array<Buffer | {fd, position, length}>, stallTimeoutMs, copyStepBytes)");
  }
  int64_t socket_fd = IntegerField(env, info[0], "socketFd", 2147483647.0);
  int64_t stall_timeout_ms = IntegerField(env, info[2], "stallTimeoutMs", 2147483647.0);
  if (stall_timeout_ms == 0) throw Napi::TypeError::New(env, "sendChunks: stallTimeoutMs must be positive");
  Napi::Array chunks = info[1].As<Napi::Array>();
  std::unique_ptr<SendJob> job(new SendJob(env));
  job->socket_fd = static_cast<int>(socket_fd);
  job->stall_timeout_ms = stall_timeout_ms;
  job->copy_step = IntegerField(env, info[3], "copyStepBytes", kMaxCopyStepBytes);
  uint32_t length = chunks.Length();
  job->pieces.reserve(length);
  uint32_t regions = 0;
  for (uint32_t index = 0; index < length; index++) {
    Napi::Value chunk = chunks.Get(index);
    Piece piece;
    if (chunk.IsTypedArray() && chunk.As<Napi::TypedArray>().TypedArrayType() == napi_uint8_array) {
      Napi::Uint8Array bytes = chunk.As<Napi::Uint8Array>();
      piece.data = bytes.Data();
      piece.length = static_cast<int64_t>(bytes.ByteLength());
    } else if (chunk.IsObject()) {
      Napi::Object region = chunk.As<Napi::Object>();
      std::string at = "chunks[" + std::to_string(index) + "].";
      piece.file = static_cast<int>(IntegerField(env, region.Get("fd"), at + "fd", 2147483647.0));
      piece.position = IntegerField(env, region.Get("position"), at + "position", kMaxSafeInteger);
      piece.length = IntegerField(env, region.Get("length"), at + "length", kMaxSafeInteger);
      if (static_cast<double>(piece.position) + static_cast<double>(piece.length) > kMaxSafeInteger) {
        throw Napi::TypeError::New(env, "sendChunks: " + at + "position + length exceeds Number.MAX_SAFE_INTEGER");
      }
    } else {
      throw Napi::TypeError::New(env, "sendChunks: chunks[" + std::to_string(index) + "] must be a Uint8Array or a file region");
    }
    job->total += piece.length;
    if (piece.file >= 0) regions++;
    job->pieces.push_back(piece);
  }
  Napi::Promise promise = job->deferred.Promise();
  calls_ += 1;
  if (job->copy_step == 0 && regions > 0) sendfile_calls += 1;
  // The thread before the duplicate: a sender that cannot start (its own epoll and eventfd
  // need descriptors too) must throw with nothing of ours open.
  if (sender_ == nullptr) sender_.reset(new ResponseSender(env, "spate:response-sender", "spate-sender"));
  // A private duplicate of the socket: if Node closes its fd while the thread writes (the peer
  // left), the number may be reused by another connection; the duplicate keeps pointing at this
  // one. A region's fd must be open, checked here so that a bad one fails before any byte goes.
  int failed_errno = 0;
  const char* failed_call = "dup";
  for (const Piece& piece : job->pieces) {
    if (piece.file >= 0 && ::fcntl(piece.file, F_GETFD) < 0) {
      failed_errno = errno;
      failed_call = "fcntl";
      break;
    }
  }
  if (failed_errno == 0) {
    job->socket = ::fcntl(job->socket_fd, F_DUPFD_CLOEXEC, 0);
    if (job->socket < 0) failed_errno = errno;
  }
  if (failed_errno != 0) {
    job->CloseDuplicates();
    job->failure = Failure::kErrno;
    job->error = failed_errno;
    job->syscall = failed_call;
    ResponseSender::SettleInJavaScript(env, job.get());
    return promise;
  }
  job->keep = Napi::Persistent(info[1]);
  sender_->Submit(job.release());
  return promise;
}

Napi::Value ResponseSenderHolder::ReceiveInto(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 3 || !info[1].IsTypedArray() || info[1].As<Napi::TypedArray>().TypedArrayType() != napi_uint8_array) {
    throw Napi::TypeError::New(env, "receiveInto: expected (socketFd, target: Uint8Array, stallTimeoutMs[, thread])");
  }
  int64_t socket_fd = IntegerField(env, info[0], "socketFd", 2147483647.0, "receiveInto");
  int64_t stall_timeout_ms = IntegerField(env, info[2], "stallTimeoutMs", 2147483647.0, "receiveInto");
  size_t thread = info.Length() > 3 && !info[3].IsUndefined() ? static_cast<size_t>(IntegerField(env, info[3], "thread", kMaxReceivers - 1, "receiveInto")) : 0;
  if (stall_timeout_ms == 0) throw Napi::TypeError::New(env, "receiveInto: stallTimeoutMs must be positive");
  Napi::Uint8Array target = info[1].As<Napi::Uint8Array>();
  std::unique_ptr<SendJob> job(new SendJob(env));
  job->receive = true;
  job->socket_fd = static_cast<int>(socket_fd);
  job->stall_timeout_ms = stall_timeout_ms;
  Piece piece;
  piece.data = target.Data();
  piece.length = static_cast<int64_t>(target.ByteLength());
  job->pieces.push_back(piece);
  job->total = piece.length;
  job->syscall = "dup";
  Napi::Promise promise = job->deferred.Promise();
  if (receivers_.size() <= thread) receivers_.resize(thread + 1);
  // A thread the OS refuses throws here (a JavaScript error), before anything of ours is open.
  if (receivers_[thread] == nullptr) receivers_[thread].reset(new ResponseSender(env, "spate:frame-receiver", "spate-recv-" + std::to_string(thread)));
  ResponseSender* receiver = receivers_[thread].get();
  receives_ += 1;
  // A private duplicate, as for sendChunks: the number Node holds may be closed and reused meanwhile.
  job->socket = ::fcntl(job->socket_fd, F_DUPFD_CLOEXEC, 0);
  if (job->socket < 0) {
    job->failure = Failure::kErrno;
    job->error = errno;
    ResponseSender::SettleInJavaScript(env, job.get());
    return promise;
  }
  job->keep = Napi::Persistent(info[1]);
  receiver->Submit(job.release());
  return promise;
}

#else  // !__linux__

class ResponseSender {};
ResponseSenderHolder::ResponseSenderHolder() = default;
ResponseSenderHolder::~ResponseSenderHolder() = default;
Napi::Value ResponseSenderHolder::SendChunks(const Napi::CallbackInfo& info, uint64_t&) {
  throw Napi::Error::New(info.Env(), "sendChunks: not supported on this platform");
}
Napi::Value ResponseSenderHolder::ReceiveInto(const Napi::CallbackInfo& info) {
  throw Napi::Error::New(info.Env(), "receiveInto: not supported on this platform");
}

#endif

}  // namespace spate
