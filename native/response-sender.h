// The response sender: one native thread per addon instance that writes whole responses
// (buffers and file regions, in order) to non-blocking sockets with writev(2) and
// sendfile(2), and waits for writability with epoll, for every connection at once; and the
// frame receivers, threads of the same kind that read the rest of large requests into
// buffers with recv(2), waiting for readability. See response-sender.cc.

#pragma once

#include <napi.h>

#include <cstdint>
#include <memory>
#include <vector>

namespace spate {

class ResponseSender;

// Owns the sender thread and the frame receiver threads of one addon instance; each thread
// starts on first use and is stopped and joined at the environment's cleanup (or when the
// holder is destroyed, whichever comes first).
class ResponseSenderHolder {
 public:
  ResponseSenderHolder();
  ~ResponseSenderHolder();
  ResponseSenderHolder(const ResponseSenderHolder&) = delete;
  ResponseSenderHolder& operator=(const ResponseSenderHolder&) = delete;

  // sendChunks(socketFd, chunks, stallTimeoutMs, copyStepBytes) -> Promise<number>; throws TypeError for
  // bad arguments. A response that sends file regions by sendfile adds one to `sendfile_calls`.
  Napi::Value SendChunks(const Napi::CallbackInfo& info, uint64_t& sendfile_calls);

  // receiveInto(socketFd, target, stallTimeoutMs[, thread]) -> Promise<number>: reads from the
  // socket into `target` until it is full, on frame receiver thread `thread` (0 to 63, default 0;
  // each started on first use), threads of the same kind as the sender's.
  Napi::Value ReceiveInto(const Napi::CallbackInfo& info);

  // Responses handed to the thread since the addon was loaded.
  double Calls() const { return calls_; }
  // Receives handed to the frame receiver since the addon was loaded.
  double Receives() const { return receives_; }

 private:
  std::unique_ptr<ResponseSender> sender_;
  std::vector<std::unique_ptr<ResponseSender>> receivers_;
  double calls_ = 0;
  double receives_ = 0;
};

}  // namespace spate
