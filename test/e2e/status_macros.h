// Early return on error, for the long set-up sequences of the e2e harness.
#ifndef FERRY_TEST_E2E_STATUS_MACROS_H_
#define FERRY_TEST_E2E_STATUS_MACROS_H_

#include "absl/status/status.h"

#define FERRY_RETURN_IF_ERROR(expr)                  \
  do {                                               \
    if (::absl::Status _status = (expr); !_status.ok()) \
      return _status;                                \
  } while (0)

#define FERRY_CONCAT_INNER_(a, b) a##b
#define FERRY_CONCAT_(a, b) FERRY_CONCAT_INNER_(a, b)
#define FERRY_ASSIGN_OR_RETURN_IMPL_(tmp, lhs, expr) \
  auto tmp = (expr);                                 \
  if (!tmp.ok()) return tmp.status();                \
  lhs = std::move(*tmp)

// lhs may declare a variable: FERRY_ASSIGN_OR_RETURN(auto x, MakeX());
#define FERRY_ASSIGN_OR_RETURN(lhs, expr) \
  FERRY_ASSIGN_OR_RETURN_IMPL_(FERRY_CONCAT_(_statusor_, __LINE__), lhs, expr)

#endif  // FERRY_TEST_E2E_STATUS_MACROS_H_
