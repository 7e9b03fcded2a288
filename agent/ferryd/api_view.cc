#include "agent/ferryd/api_view.h"

namespace ferry::ferryd {

api::AgentErrors ErrorsOf(absl::string_view node, const AgentErrors& errors) {
  api::AgentErrors out;
  out.set_node(std::string(node));
  for (const model::FileError& error : errors.file_errors) {
    api::FileError* file = out.add_file_errors();
    file->set_file(error.file);
    file->set_reason(error.reason);
    file->set_message(error.ToString());
  }
  for (const model::ObjectError& error : errors.object_errors) {
    const model::ValidationError& v = error.error;
    api::ValidationError* object = out.add_object_errors();
    object->set_file(error.file);
    object->set_line(error.line);
    object->set_kind(v.object.kind);
    object->set_namespace_(v.object.namespace_);
    object->set_name(v.object.name);
    object->set_field(v.field);
    object->set_reason(v.reason);
    object->set_severity(v.severity == model::Severity::kError ? "error" : "info");
    object->set_message(error.ToString());
  }
  for (const std::string& problem : errors.problems) out.add_problems(problem);
  return out;
}

api::ObjectCounts CountsOf(const model::Model& model, const lb::LbInput& input,
                           size_t local_endpoints) {
  api::ObjectCounts counts;
  counts.set_services(model.services().size());
  counts.set_endpoint_slices(model.endpoint_slices().size());
  counts.set_nodes(model.nodes().size());
  counts.set_lb_services(input.services.size());
  size_t frontends = 0, backends = 0;
  for (const lb::LbService& service : input.services) {
    frontends += service.frontends.size();
    backends += service.backends.size();
  }
  counts.set_frontends(frontends);
  counts.set_backends(backends);
  counts.set_local_endpoints(local_endpoints);
  return counts;
}

}  // namespace ferry::ferryd
