#include "model/go_quote.h"

#include <gtest/gtest.h>

namespace smi::model {
namespace {

TEST(GoQuote, EscapesAsGoDoes) {
  EXPECT_EQ(GoQuote("web"), "\"web\"");
  EXPECT_EQ(GoQuote("a\"b\\c"), "\"a\\\"b\\\\c\"");
  EXPECT_EQ(GoQuote("\n\t\x01\x7f"), "\"\\n\\t\\x01\\x7f\"");
}

TEST(GoQuote, ValidUtf8PassesThrough) {
  EXPECT_EQ(GoQuote("caf\xc3\xa9"), "\"caf\xc3\xa9\"");            // é
  EXPECT_EQ(GoQuote("\xe2\x82\xac"), "\"\xe2\x82\xac\"");          // €
  EXPECT_EQ(GoQuote("\xf0\x9f\x98\x80"), "\"\xf0\x9f\x98\x80\"");  // U+1F600
}

// strconv.Quote writes each byte that is not part of valid UTF-8 as \xNN, so the quoted text is
// always valid UTF-8 and can go into a JSON message.
TEST(GoQuote, BytesThatAreNotUtf8AreEscaped) {
  EXPECT_EQ(GoQuote("\xff"), "\"\\xff\"");
  EXPECT_EQ(GoQuote("a\x80z"), "\"a\\x80z\"");                         // stray continuation byte
  EXPECT_EQ(GoQuote("\xc3"), "\"\\xc3\"");                             // cut short
  EXPECT_EQ(GoQuote("\xc0\xaf"), "\"\\xc0\\xaf\"");                    // overlong '/'
  EXPECT_EQ(GoQuote("\xed\xa0\x80"), "\"\\xed\\xa0\\x80\"");           // a UTF-16 surrogate
  EXPECT_EQ(GoQuote("\xf4\x90\x80\x80"), "\"\\xf4\\x90\\x80\\x80\"");  // beyond U+10FFFF
}

}  // namespace
}  // namespace smi::model
