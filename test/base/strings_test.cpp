// Trim, Lower, EqualsIgnoreCase and ReadFile: ASCII only, whatever the locale.
#include "base/strings.h"

#include <string>

#include <gtest/gtest.h>

#include "support/temp_dir.h"

namespace smi::base {
namespace {

TEST(Trim, DropsAsciiWhiteSpaceAtBothEnds) {
  EXPECT_EQ(Trim(""), "");
  EXPECT_EQ(Trim(" \t\r\n\v\f"), "");
  EXPECT_EQ(Trim("  token\n"), "token");
  EXPECT_EQ(Trim("\tBearer abc \r\n"), "Bearer abc");  // inner white space stays
  EXPECT_EQ(Trim("x"), "x");
  EXPECT_EQ(Trim("\vx\f"), "x");
  // Not white space: NUL, non-breaking space (UTF-8 and Latin-1).
  EXPECT_EQ(Trim(std::string_view("\0x\0", 3)), std::string("\0x\0", 3));
  EXPECT_EQ(Trim("\xc2\xa0x\xa0"), "\xc2\xa0x\xa0");
}

TEST(Trim, ViewIsIntoTheText) {
  const std::string text = "  abc  ";
  const std::string_view v = TrimView(text);
  EXPECT_EQ(v, "abc");
  EXPECT_EQ(v.data(), text.data() + 2);
  EXPECT_TRUE(TrimView("   ").empty());
}

TEST(Lower, OnlyAsciiLetters) {
  EXPECT_EQ(Lower(""), "");
  EXPECT_EQ(Lower("Content-Type"), "content-type");
  EXPECT_EQ(Lower("ABCXYZ abcxyz 019 @[`{"), "abcxyz abcxyz 019 @[`{");
  EXPECT_EQ(Lower("\xc3\x89"), "\xc3\x89");  // É in UTF-8 is left alone
  EXPECT_EQ(Lower("\xc9"), "\xc9");          // and in Latin-1
}

TEST(EqualsIgnoreCase, AsciiCaseOnly) {
  EXPECT_TRUE(EqualsIgnoreCase("", ""));
  EXPECT_TRUE(EqualsIgnoreCase("Bearer", "bearer"));
  EXPECT_TRUE(EqualsIgnoreCase("X-Remote-User", "x-remote-USER"));
  EXPECT_FALSE(EqualsIgnoreCase("Bearer", "Bearer "));
  EXPECT_FALSE(EqualsIgnoreCase("Bearer", "Beare"));
  EXPECT_FALSE(EqualsIgnoreCase("a", "b"));
  // Only letters fold: '@' and '`' are 0x20 apart like 'A' and 'a', but are not letters.
  EXPECT_FALSE(EqualsIgnoreCase("@", "`"));
  EXPECT_FALSE(EqualsIgnoreCase("[", "{"));
  EXPECT_FALSE(EqualsIgnoreCase("\xc3\x89", "\xc3\xa9"));  // É, é: not ASCII
}

TEST(ReadFile, TheWholeContentBytesIncluded) {
  const test_support::TempDir dir;
  const char raw[] = "line 1\r\nline 2\0binary\xff";
  const std::string content(raw, sizeof raw - 1);
  const std::string path = dir.Write("f", content);
  EXPECT_EQ(ReadFile(path), content);
  EXPECT_EQ(ReadFile(dir.Write("empty", "")), "");
}

TEST(ReadFile, AMissingFileNamesWhatAndWhere) {
  const test_support::TempDir dir;
  const std::string path = dir.File("missing");
  try {
    ReadFile(path, "token file");
    ADD_FAILURE() << "a missing file was read";
  } catch (const std::runtime_error& e) {
    EXPECT_EQ(std::string(e.what()),
              "cannot read token file " + path + ": No such file or directory");
  }
  try {
    ReadFile(path);
    ADD_FAILURE() << "a missing file was read";
  } catch (const std::runtime_error& e) {
    EXPECT_EQ(std::string(e.what()), "cannot read file " + path + ": No such file or directory");
  }
}

}  // namespace
}  // namespace smi::base
