// A text table whose columns are as wide as their widest cell, two spaces
// apart, without trailing blanks.
#ifndef FERRY_TOOLS_FERRYCTL_TABLE_H_
#define FERRY_TOOLS_FERRYCTL_TABLE_H_

#include <string>
#include <vector>

namespace ferry::ctl {

class Table {
 public:
  explicit Table(std::vector<std::string> header) : header_(std::move(header)) {}
  // Missing trailing cells print empty; extra cells are an error of the
  // caller and are dropped.
  void AddRow(std::vector<std::string> cells);
  std::string Render() const;

 private:
  std::vector<std::string> header_;
  std::vector<std::vector<std::string>> rows_;
};

}  // namespace ferry::ctl

#endif  // FERRY_TOOLS_FERRYCTL_TABLE_H_
