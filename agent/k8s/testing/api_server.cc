#include "agent/k8s/testing/api_server.h"

#include <curl/curl.h>
#include <poll.h>

#include <algorithm>
#include <fstream>
#include <sstream>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"

namespace ferry::k8s::testing {
namespace {

size_t Append(char* data, size_t size, size_t count, void* out) {
  static_cast<std::string*>(out)->append(data, size * count);
  return size * count;
}

}  // namespace

absl::StatusOr<std::unique_ptr<ApiServer>> ApiServer::Start(const std::filesystem::path& directory,
                                                            const ApiServerOptions& options) {
  const std::filesystem::path ready = directory / "ready";
  std::filesystem::remove(ready);
  std::vector<std::string> argv = {"/usr/bin/python3",
                                   FERRY_MINI_APISERVER,
                                   "--state-dir",
                                   directory.string(),
                                   "--port",
                                   std::to_string(options.port),
                                   "--bookmark-interval",
                                   absl::StrCat(absl::ToDoubleSeconds(options.bookmark_interval)),
                                   "--address",
                                   options.address};
  if (options.client_certificates) argv.push_back("--client-certificates");
  if (!options.load.empty()) {
    argv.push_back("--load");
    argv.insert(argv.end(), options.load.begin(), options.load.end());
  }
  const std::string log =
      (directory / absl::StrCat("server-", absl::ToUnixNanos(absl::Now()), ".log")).string();
  absl::StatusOr<std::unique_ptr<netns::Process>> process =
      options.ns ? netns::Process::Start(*options.ns, argv, log)
                 : netns::Process::StartOnLoopback(argv, log);
  if (!process.ok()) return process.status();
  const absl::Time deadline = absl::Now() + absl::Seconds(60);
  while (!std::filesystem::exists(ready)) {
    if (!(*process)->Running() || absl::Now() > deadline) {
      return absl::UnavailableError(
          absl::StrCat("the API server did not start: ", (*process)->ReadLog()));
    }
    absl::SleepFor(absl::Milliseconds(20));
  }
  std::ifstream in(ready);
  int bound = 0;
  in >> bound;
  return std::unique_ptr<ApiServer>(
      new ApiServer(directory, *std::move(process), options.ns, options.address, bound));
}

absl::StatusOr<nlohmann::json> ApiServer::Admin(const std::string& what,
                                                const nlohmann::json& body) {
  if (ns_ == nullptr) return Post(what, body);
  absl::StatusOr<nlohmann::json> reply = absl::UnknownError("not run");
  const absl::Status ran = netns::RunIn(*ns_, [&] {
    reply = Post(what, body);
    return absl::OkStatus();
  });
  if (!ran.ok()) return ran;
  return reply;
}

absl::StatusOr<nlohmann::json> ApiServer::Post(const std::string& what,
                                               const nlohmann::json& body) const {
  CURL* easy = curl_easy_init();
  std::string reply;
  const std::string url = absl::StrCat("https://", address_, ":", port_, "/admin/", what);
  const std::string text = body.dump();
  const std::string ca = (directory_ / "ca.crt").string();
  curl_easy_setopt(easy, CURLOPT_URL, url.c_str());
  curl_easy_setopt(easy, CURLOPT_CAINFO, ca.c_str());
  const std::string certificate = (directory_ / "client.crt").string();
  const std::string key = (directory_ / "client.key").string();
  curl_easy_setopt(easy, CURLOPT_SSLCERT, certificate.c_str());
  curl_easy_setopt(easy, CURLOPT_SSLKEY, key.c_str());
  curl_easy_setopt(easy, CURLOPT_POSTFIELDS, text.c_str());
  curl_easy_setopt(easy, CURLOPT_WRITEFUNCTION, &Append);
  curl_easy_setopt(easy, CURLOPT_WRITEDATA, &reply);
  curl_easy_setopt(easy, CURLOPT_TIMEOUT, 60L);
  const CURLcode result = curl_easy_perform(easy);
  long status = 0;
  curl_easy_getinfo(easy, CURLINFO_RESPONSE_CODE, &status);
  curl_easy_cleanup(easy);
  if (result != CURLE_OK || status != 200) {
    return absl::UnavailableError(absl::StrCat("admin ", what, ": ", curl_easy_strerror(result),
                                               " HTTP ", status, " ", reply));
  }
  return nlohmann::json::parse(reply);
}

absl::Status ApiServer::Put(const std::string& path, const std::vector<nlohmann::json>& objects) {
  return Admin("put", {{"path", path}, {"objects", objects}}).status();
}

absl::Status ApiServer::Delete(const std::string& path, const std::string& namespace_,
                               const std::string& name) {
  return Admin("delete", {{"path", path}, {"namespace", namespace_}, {"name", name}}).status();
}

absl::Status ApiServer::Stop() { return process_->Stop().status(); }

bool SourceLoop::RunUntil(const std::function<bool()>& done, absl::Duration timeout) {
  const absl::Time deadline = absl::Now() + timeout;
  while (!done()) {
    const absl::Time now = absl::Now();
    if (now > deadline) return false;
    // At most 50 ms between looks at `done`, which may ask the server.
    const absl::Time wake = std::min({source_.Deadline(), deadline, now + absl::Milliseconds(50)});
    pollfd ready{.fd = source_.fd(), .events = POLLIN, .revents = 0};
    poll(&ready, 1, static_cast<int>(std::max<int64_t>(0, absl::ToInt64Milliseconds(wake - now))));
    model::ChangeSet changes = source_.Read(absl::Now());
    if (changes.empty()) continue;
    model_.Apply(changes);
    reads_.push_back(std::move(changes));
  }
  return true;
}

nlohmann::json LoadBalancer(const std::string& name, int port) {
  return {{"apiVersion", "v1"},
          {"kind", "Service"},
          {"metadata", {{"name", name}, {"namespace", "default"}}},
          {"spec",
           {{"type", "LoadBalancer"},
            {"ipFamilies", {"IPv4"}},
            {"ports",
             {{{"name", "http"}, {"port", port}, {"protocol", "TCP"}, {"targetPort", 8080}}}}}}};
}

nlohmann::json Slice(const std::string& service, int index) {
  nlohmann::json endpoints = nlohmann::json::array();
  for (int i = 0; i < 10; ++i) {
    endpoints.push_back(
        {{"addresses", {absl::StrCat("10.", index / 250 % 250, ".", index % 250, ".", i + 1)}},
         {"conditions", {{"ready", true}, {"serving", true}, {"terminating", false}}},
         {"nodeName", absl::StrCat("node", i % 3 + 1)}});
  }
  return {{"apiVersion", "discovery.k8s.io/v1"},
          {"kind", "EndpointSlice"},
          {"metadata",
           {{"name", absl::StrCat(service, "-abcde")},
            {"namespace", "default"},
            {"labels", {{"kubernetes.io/service-name", service}}}}},
          {"addressType", "IPv4"},
          {"ports", {{{"name", "http"}, {"port", 8080}, {"protocol", "TCP"}}}},
          {"endpoints", endpoints}};
}

}  // namespace ferry::k8s::testing
