#include "clone_check.h"

#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include <algorithm>

#include "compare.h"

namespace anysnap {

Status CheckCanSeeClones(SnapshotKind backend) {
  if (backend == SnapshotKind::kCriu) return Status::Ok();
  return Status::Unavailable(
      "the freeze backend cannot see cloned state: each of its restores resumes a process tree "
      "frozen after its own init, not a copy of one snapshot's memory, so values a real "
      "snapshot clones differ there anyway; run check with --snapshot criu (a criu that passes "
      "`criu check`)");
}

Result<CloneCheckResult> RunCloneCheck(const LocalFunctionOptions& options, int runs,
                                       const std::string& event,
                                       const std::vector<std::string>& allow) {
  ANYSNAP_RETURN_IF_ERROR(CheckCanSeeClones(options.snapshot));
  if (runs < 2) return Status::InvalidArgument("a check needs at least 2 runs of each kind");
  auto compared = RunCompare(options, runs, event);
  if (!compared.ok()) return compared.status();
  CloneCheckResult result;
  result.runs = runs;
  result.backend = compared->backend;
  result.fields = CompareFields(compared->cold_bodies, compared->restored_bodies);
  result.cold_bodies = std::move(compared->cold_bodies);
  result.restored_bodies = std::move(compared->restored_bodies);
  auto& cloned = result.fields.cloned;
  auto allowed = std::stable_partition(cloned.begin(), cloned.end(), [&](const ClonedField& f) {
    return std::find(allow.begin(), allow.end(), f.path) == allow.end();
  });
  result.allowed.assign(allowed, cloned.end());
  cloned.erase(allowed, cloned.end());
  return result;
}

std::string CloneCheckReport(const CloneCheckResult& r) {
  const std::string runs = std::to_string(r.runs) + " cold starts, " + std::to_string(r.runs) +
                           " restores from one snapshot (" + r.backend + ")";
  std::string out;
  if (r.fields.cloned.empty()) {
    out += "no cloned value: of " + std::to_string(r.fields.compared) +
           " fields in every response, none differs between cold starts and repeats in every "
           "restore (" +
           runs + ")\n";
  } else {
    const size_t n = r.fields.cloned.size();
    out += std::to_string(n) +
           (n == 1 ? " field differs between cold starts but repeats"
                   : " fields differ between cold starts but repeat") +
           " in every restore: values the snapshot cloned (" + runs + ")\n";
    for (const ClonedField& f : r.fields.cloned) out += "cloned  " + f.path + "  " + f.value + "\n";
  }
  for (const ClonedField& f : r.allowed)
    out += "allowed " + f.path + "  " + f.value + "  (cloned, named by --allow)\n";
  if (!r.fields.not_in_every_response.empty()) {
    out += "not compared (missing from some responses):";
    for (const std::string& path : r.fields.not_in_every_response) out += " " + path;
    out += "\n";
  }
  return out;
}

std::string CloneCheckResponses(const CloneCheckResult& r) {
  std::string out;
  for (const auto& [run, bodies] :
       {std::pair{"cold", &r.cold_bodies}, std::pair{"restored", &r.restored_bodies}}) {
    for (size_t i = 0; i < bodies->size(); ++i) {
      rapidjson::StringBuffer buf;
      rapidjson::Writer<rapidjson::StringBuffer> w(buf);
      const std::string& body = (*bodies)[i];
      w.StartObject();
      w.Key("run");
      w.String(run);
      w.Key("n");
      w.Uint64(i + 1);
      w.Key("body");
      w.String(body.data(), static_cast<rapidjson::SizeType>(body.size()));
      w.EndObject();
      out.append(buf.GetString(), buf.GetSize());
      out += '\n';
    }
  }
  return out;
}

}  // namespace anysnap
