#include "agent/k8s/testing/api_server.h"

#include <curl/curl.h>
#include <poll.h>

#include <algorithm>
#include <fstream>
#include <sstream>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"

namespace ferry::k8s::testing {
namespace {

size_t Append(char* data, size_t size, size_t count, void* out) {
  static_cast<std::string*>(out)->append(data, size * count);
  return size * count;
}

std::string HostPort(const std::string& address, int port) {
  return absl::StrCat(absl::StrContains(address, ':') ? absl::StrCat("[", address, "]") : address,
                      ":", port);
}

absl::StatusOr<int> ReadPort(const std::filesystem::path& file) {
  std::ifstream in(file);
  int port = 0;
  if (!(in >> port)) return absl::UnavailableError(absl::StrCat(file.string(), ": no port"));
  return port;
}

// The collection an object of `path` is created in: a cluster-wide path
// ("/api/v1/services") takes the object's namespace, as the API wants.
std::string Collection(const std::string& path, const std::string& namespace_) {
  if (namespace_.empty() || absl::StrContains(path, "/namespaces/")) return path;
  const size_t resource = path.rfind('/');
  return absl::StrCat(path.substr(0, resource), "/namespaces/", namespace_, path.substr(resource));
}

}  // namespace

absl::StatusOr<std::unique_ptr<ApiServer>> ApiServer::Start(const std::filesystem::path& directory,
                                                            const ApiServerOptions& options) {
  const std::filesystem::path ready = directory / "ready";
  std::filesystem::remove(ready);
  const std::vector<std::string> argv = {
      "/usr/bin/python3",
      FERRY_TEST_APISERVER,
      "--state-dir",
      directory.string(),
      "--listen",
      HostPort(options.address, 0),
      "--admin-listen",
      "127.0.0.1:0",
      "--crds",
      FERRY_CRDS,
      "--bookmark-interval",
      absl::StrCat(absl::ToDoubleSeconds(options.bookmark_interval))};
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
  absl::StatusOr<int> port = ReadPort(ready);
  if (!port.ok()) return port.status();
  absl::StatusOr<int> admin_port = ReadPort(directory / "admin-port");
  if (!admin_port.ok()) return admin_port.status();
  auto server = std::unique_ptr<ApiServer>(
      new ApiServer(directory, *std::move(process), options.ns,
                    absl::StrCat("https://", HostPort(options.address, *port)),
                    absl::StrCat("http://127.0.0.1:", *admin_port, "/"), *port));
  if (!options.load.empty()) {
    if (absl::Status loaded = server->Load(options.load); !loaded.ok()) return loaded;
  }
  return server;
}

absl::Status ApiServer::Load(const std::vector<std::string>& manifests) {
  const std::string kubectl_path = FERRY_KUBECTL;
  if (absl::EndsWith(kubectl_path, "NOTFOUND")) {
    return absl::FailedPreconditionError(
        "ApiServerOptions.load needs kubectl: run scripts/install-deps and "
        "configure again");
  }
  auto kubectl = [&](std::vector<std::string> args) {
    std::vector<std::string> argv = {kubectl_path, "--kubeconfig", kubeconfig().string(),
                                     "--cache-dir", (directory_ / "kubectl-cache").string()};
    argv.insert(argv.end(), args.begin(), args.end());
    return netns::RunCommand(ns_, argv, absl::Seconds(60));
  };
  std::vector<std::string> files;
  for (const std::string& manifest : manifests) {
    files.push_back("-f");
    files.push_back(manifest);
  }
  std::vector<std::string> apply = {"apply"};
  apply.insert(apply.end(), files.begin(), files.end());
  if (absl::StatusOr<std::string> applied = kubectl(apply); !applied.ok()) {
    return applied.status();
  }
  // A create ignores status, as kube's does: what a controller or the
  // kubelet would write there (a Node's addresses) goes to the status
  // subresource after.
  std::vector<std::string> convert = {"create", "--dry-run=client", "-o", "json"};
  convert.insert(convert.end(), files.begin(), files.end());
  absl::StatusOr<std::string> objects = kubectl(convert);
  if (!objects.ok()) return objects.status();
  nlohmann::json with_status = {
      {"apiVersion", "v1"}, {"kind", "List"}, {"items", nlohmann::json::array()}};
  std::istringstream in(*objects);
  while (in >> std::ws && in.peek() != EOF) {
    nlohmann::json object;
    in >> object;
    if (!object.value("status", nlohmann::json::object()).empty()) {
      with_status["items"].push_back(std::move(object));
    }
  }
  if (with_status["items"].empty()) return absl::OkStatus();
  const std::filesystem::path status_file = directory_ / "load-status.json";
  std::ofstream(status_file) << with_status.dump();
  return kubectl({"replace", "--subresource=status", "-f", status_file.string()}).status();
}

ApiServer::ApiServer(std::filesystem::path directory, std::unique_ptr<netns::Process> process,
                     const netns::Namespace* ns, std::string api_url, std::string admin_url,
                     int port)
    : directory_(std::move(directory)),
      process_(std::move(process)),
      ns_(ns),
      api_url_(std::move(api_url)),
      admin_url_(std::move(admin_url)),
      port_(port),
      api_(curl_easy_init()),
      admin_(curl_easy_init()),
      json_(curl_slist_append(nullptr, "Content-Type: application/json")) {
  // The client certificate, not the token: a test may rotate the token.
  const std::string ca = (directory_ / "ca.crt").string();
  const std::string certificate = (directory_ / "client.crt").string();
  const std::string key = (directory_ / "client.key").string();
  curl_easy_setopt(api_, CURLOPT_CAINFO, ca.c_str());
  curl_easy_setopt(api_, CURLOPT_SSLCERT, certificate.c_str());
  curl_easy_setopt(api_, CURLOPT_SSLKEY, key.c_str());
  curl_easy_setopt(api_, CURLOPT_HTTP_VERSION, CURL_HTTP_VERSION_2TLS);
  curl_easy_setopt(api_, CURLOPT_HTTPHEADER, json_);
}

ApiServer::~ApiServer() {
  curl_easy_cleanup(api_);
  curl_easy_cleanup(admin_);
  curl_slist_free_all(json_);
}

absl::Status ApiServer::InServersNamespace(const std::function<absl::Status()>& fn) const {
  return ns_ ? netns::RunIn(*ns_, fn) : fn();
}

absl::StatusOr<ApiServer::Reply> ApiServer::Request(CURL* easy, const std::string& method,
                                                    const std::string& url,
                                                    const std::string& body) const {
  Reply reply;
  curl_easy_setopt(easy, CURLOPT_URL, url.c_str());
  if (method == "GET" || method == "DELETE") {
    curl_easy_setopt(easy, CURLOPT_HTTPGET, 1L);
  } else {
    curl_easy_setopt(easy, CURLOPT_POSTFIELDS, body.c_str());
    curl_easy_setopt(easy, CURLOPT_POSTFIELDSIZE, static_cast<long>(body.size()));
  }
  curl_easy_setopt(easy, CURLOPT_CUSTOMREQUEST, method.c_str());
  curl_easy_setopt(easy, CURLOPT_WRITEFUNCTION, &Append);
  curl_easy_setopt(easy, CURLOPT_WRITEDATA, &reply.body);
  curl_easy_setopt(easy, CURLOPT_TIMEOUT, 60L);
  const CURLcode result = curl_easy_perform(easy);
  if (result != CURLE_OK) {
    return absl::UnavailableError(absl::StrCat(method, " ", url, ": ", curl_easy_strerror(result)));
  }
  curl_easy_getinfo(easy, CURLINFO_RESPONSE_CODE, &reply.status);
  return reply;
}

absl::StatusOr<nlohmann::json> ApiServer::AdminRequest(const std::string& method,
                                                       const std::string& request) {
  absl::StatusOr<Reply> reply = absl::UnknownError("not run");
  const absl::Status ran = InServersNamespace([&] {
    reply = Request(admin_, method, admin_url_ + request, "");
    return absl::OkStatus();
  });
  if (!ran.ok()) return ran;
  if (!reply.ok()) return reply.status();
  if (reply->status != 200) {
    return absl::UnavailableError(
        absl::StrCat("admin ", method, " /", request, ": HTTP ", reply->status, " ", reply->body));
  }
  return nlohmann::json::parse(reply->body);
}

absl::StatusOr<nlohmann::json> ApiServer::Admin(const std::string& request) {
  return AdminRequest("POST", request);
}

absl::StatusOr<nlohmann::json> ApiServer::Stats() { return AdminRequest("GET", "stats"); }

std::string ApiServer::ObjectUrl(const std::string& path, const nlohmann::json& object) const {
  return absl::StrCat(api_url_, Collection(path, object["metadata"].value("namespace", "")), "/",
                      object["metadata"]["name"].get<std::string>());
}

absl::Status ApiServer::PutOne(const std::string& path, const nlohmann::json& object) {
  const std::string collection =
      api_url_ + Collection(path, object["metadata"].value("namespace", ""));
  absl::StatusOr<Reply> created = Request(api_, "POST", collection, object.dump());
  if (!created.ok()) return created.status();
  if (created->status == 201 || created->status == 200) return absl::OkStatus();
  if (created->status != 409 || !absl::StrContains(created->body, "AlreadyExists")) {
    return absl::InternalError(
        absl::StrCat("POST ", collection, ": HTTP ", created->status, " ", created->body));
  }
  return Replace(ObjectUrl(path, object), "", object);
}

absl::Status ApiServer::Replace(const std::string& url, const std::string& subresource,
                                const nlohmann::json& object) {
  absl::StatusOr<Reply> existing = Request(api_, "GET", url, "");
  if (!existing.ok()) return existing.status();
  if (existing->status != 200) {
    return absl::InternalError(
        absl::StrCat("GET ", url, ": HTTP ", existing->status, " ", existing->body));
  }
  nlohmann::json replacement = object;
  replacement["metadata"]["resourceVersion"] =
      nlohmann::json::parse(existing->body)["metadata"]["resourceVersion"];
  return PutAt(url + subresource, replacement);
}

absl::Status ApiServer::PutAt(const std::string& url, const nlohmann::json& object) {
  absl::StatusOr<Reply> replaced = Request(api_, "PUT", url, object.dump());
  if (!replaced.ok()) return replaced.status();
  if (replaced->status != 200) {
    return absl::InternalError(
        absl::StrCat("PUT ", url, ": HTTP ", replaced->status, " ", replaced->body));
  }
  return absl::OkStatus();
}

absl::Status ApiServer::Update(const std::string& path, const nlohmann::json& object) {
  return InServersNamespace([&] { return PutAt(ObjectUrl(path, object), object); });
}

absl::Status ApiServer::Put(const std::string& path, const std::vector<nlohmann::json>& objects) {
  return InServersNamespace([&] {
    for (const nlohmann::json& object : objects) {
      if (absl::Status put = PutOne(path, object); !put.ok()) return put;
    }
    return absl::OkStatus();
  });
}

absl::Status ApiServer::PutStatus(const std::string& path,
                                  const std::vector<nlohmann::json>& objects) {
  return InServersNamespace([&] {
    for (const nlohmann::json& object : objects) {
      if (absl::Status put = Replace(ObjectUrl(path, object), "/status", object); !put.ok()) {
        return put;
      }
    }
    return absl::OkStatus();
  });
}

absl::Status ApiServer::Delete(const std::string& path, const std::string& namespace_,
                               const std::string& name) {
  const std::string url = absl::StrCat(api_url_, Collection(path, namespace_), "/", name);
  absl::StatusOr<Reply> reply = absl::UnknownError("not run");
  const absl::Status ran = InServersNamespace([&] {
    reply = Request(api_, "DELETE", url, "");
    return absl::OkStatus();
  });
  if (!ran.ok()) return ran;
  if (!reply.ok()) return reply.status();
  if (reply->status != 200) {
    return absl::InternalError(
        absl::StrCat("DELETE ", url, ": HTTP ", reply->status, " ", reply->body));
  }
  return absl::OkStatus();
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

std::vector<nlohmann::json> WatchingConnections(const nlohmann::json& stats) {
  std::vector<nlohmann::json> watching;
  for (const nlohmann::json& connection : stats["connections"]) {
    if (connection["openWatches"] > 0) watching.push_back(connection);
  }
  return watching;
}

nlohmann::json LoadBalancer(const std::string& name, int port) {
  return {{"apiVersion", "v1"},
          {"kind", "Service"},
          {"metadata", {{"name", name}, {"namespace", "default"}}},
          {"spec",
           {{"type", "LoadBalancer"},
            {"ipFamilies", {"IPv4"}},
            // Ferry needs no node ports, and 10,000 Services (the bench)
            // would not fit in the server's node port range.
            {"allocateLoadBalancerNodePorts", false},
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
