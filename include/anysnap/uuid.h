// Request ids in the form Lambda uses: UUID version 4 (RFC 9562), lowercase.
#ifndef ANYSNAP_UUID_H_
#define ANYSNAP_UUID_H_

#include <cstdint>
#include <string>

namespace anysnap {

// Formats 128 random bits as a version-4, variant-1 UUID
// (xxxxxxxx-xxxx-4xxx-[89ab]xxx-xxxxxxxxxxxx); the version and variant bits of
// the input are overwritten.
std::string FormatUuidV4(uint64_t hi, uint64_t lo);

}  // namespace anysnap

#endif  // ANYSNAP_UUID_H_
