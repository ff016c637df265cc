#include "random_draws.h"

#include <gtest/gtest.h>
#include <sys/random.h>

namespace anysnap {
namespace {

RandomDraw Getrandom(int process, const std::string& program, uint64_t bytes, unsigned flags) {
  return {process, program, "getrandom", bytes, flags};
}

RandomDraw OpenUrandom(int process, const std::string& program) {
  return {process, program, "openat", 0, 0};
}

TEST(RandomDrawsTest, NodesOpenSslSeedIsReseededWhenTheReseedIsOn) {
  RandomDraws on(/*reseed=*/true);
  DrawOrigin origin = on.Classify(Getrandom(7, "node", 48, 0));
  EXPECT_EQ(origin.verdict, DrawVerdict::kReseeded);
  EXPECT_NE(origin.source.find("OpenSSL's generator"), std::string_view::npos);
  // Every later draw of node is OpenSSL's reseeding itself: still the runtime's.
  EXPECT_EQ(on.Classify(Getrandom(7, "node", 48, 0)).verdict, DrawVerdict::kReseeded);

  RandomDraws off(/*reseed=*/false);
  origin = off.Classify(Getrandom(7, "node", 48, 0));
  EXPECT_EQ(origin.verdict, DrawVerdict::kRuntime);
  EXPECT_TRUE(origin.fixable);
  EXPECT_NE(origin.remedy.find("ANYSNAP_RESEED at auto"), std::string_view::npos);
}

TEST(RandomDrawsTest, ReadingTheRandomDeviceIsTheFunctionsSaveTheReseedsOwnFirstRead) {
  RandomDraws on(/*reseed=*/true);
  EXPECT_EQ(on.Classify(OpenUrandom(7, "node")).verdict, DrawVerdict::kReseeded);
  EXPECT_EQ(on.Classify(OpenUrandom(7, "node")).verdict, DrawVerdict::kYours);
  RandomDraws off(/*reseed=*/false);
  EXPECT_EQ(off.Classify(OpenUrandom(7, "node")).verdict, DrawVerdict::kYours);
  EXPECT_EQ(on.Classify(OpenUrandom(8, "python3.11")).verdict, DrawVerdict::kYours);
}

TEST(RandomDrawsTest, PythonsStartUpDrawsAreTheRuntimesAndItsLaterOnesTheFunctions) {
  RandomDraws on(/*reseed=*/true);
  // The hash secret: nothing can change it, reseed or not.
  DrawOrigin secret = on.Classify(Getrandom(9, "python3.11", 24, GRND_NONBLOCK));
  EXPECT_EQ(secret.verdict, DrawVerdict::kRuntime);
  EXPECT_FALSE(secret.fixable);
  EXPECT_NE(secret.source.find("hash secret"), std::string_view::npos);
  // random's hidden instance, then a random.Random() of the function's.
  DrawOrigin hidden = on.Classify(Getrandom(9, "python3.11", 2496, GRND_NONBLOCK));
  EXPECT_EQ(hidden.verdict, DrawVerdict::kReseeded);
  EXPECT_NE(hidden.source.find("random module"), std::string_view::npos);
  EXPECT_EQ(on.Classify(Getrandom(9, "python3.11", 2496, GRND_NONBLOCK)).verdict,
            DrawVerdict::kYours);
  // Another process has its own start-up.
  EXPECT_EQ(on.Classify(Getrandom(10, "python3", 2496, GRND_NONBLOCK)).verdict,
            DrawVerdict::kReseeded);
  // OpenSSL's seed, then os.urandom / uuid4 (flags 0, any size).
  EXPECT_EQ(on.Classify(Getrandom(9, "python3.11", 48, 0)).verdict, DrawVerdict::kReseeded);
  EXPECT_EQ(on.Classify(Getrandom(9, "python3.11", 48, 0)).verdict, DrawVerdict::kYours);
  EXPECT_EQ(on.Classify(Getrandom(9, "python3.11", 16, 0)).verdict, DrawVerdict::kYours);

  RandomDraws off(/*reseed=*/false);
  DrawOrigin unseeded = off.Classify(Getrandom(9, "python3.11", 2496, GRND_NONBLOCK));
  EXPECT_EQ(unseeded.verdict, DrawVerdict::kRuntime);
  EXPECT_NE(unseeded.remedy.find("random.seed() in an after-restore hook"), std::string_view::npos);
}

TEST(RandomDrawsTest, BunsStartUpIsARuntimeLevelHazardEvenWithTheReseed) {
  RandomDraws on(/*reseed=*/true);
  DrawOrigin origin = on.Classify(Getrandom(11, "bun", 32, GRND_NONBLOCK));
  EXPECT_EQ(origin.verdict, DrawVerdict::kRuntime);
  EXPECT_NE(origin.remedy.find("cannot be reseeded from outside"), std::string_view::npos);
}

TEST(RandomDrawsTest, AnyOtherProgramsDrawIsTheFunctions) {
  RandomDraws on(/*reseed=*/true);
  EXPECT_EQ(on.Classify(Getrandom(12, "bootstrap", 48, 0)).verdict, DrawVerdict::kYours);
  EXPECT_EQ(on.Classify(Getrandom(12, "pythonic-app", 24, GRND_NONBLOCK)).verdict,
            DrawVerdict::kYours);
  EXPECT_EQ(DrawVerdictName(DrawVerdict::kYours), "yours");
  EXPECT_EQ(DrawVerdictName(DrawVerdict::kRuntime), "runtime");
  EXPECT_EQ(DrawVerdictName(DrawVerdict::kReseeded), "reseeded");
}

}  // namespace
}  // namespace anysnap
