#include "scope_policy.hpp"

#include <stdexcept>

namespace libreta::server {
namespace {

std::string text_field(const ServerRow& row, const std::string& field) {
  auto it = row.fields.find(field);
  return it != row.fields.end() && it->second.is_text() ? it->second.as_text() : "";
}

}  // namespace

ScopePolicy::ScopePolicy(const Schema& schema, Rows& rows)
    : schema_(schema), scope_table_(schema.scope_table()), rows_(rows) {
  if (!scope_table_) throw std::invalid_argument("the schema declares no scope table");
}

const std::string& ScopePolicy::scope_field(const std::string& table) const {
  return is_scope_table(table) ? owner_field() : schema_.table(table)->owner_link;
}

const std::string* ScopePolicy::link_of(const std::string& table) const {
  const TableSpec* spec = schema_.table(table);
  return spec && !spec->owner_link.empty() ? &spec->owner_link : nullptr;
}

std::string ScopePolicy::owner_of(const ServerRow& scope_row) const {
  return text_field(scope_row, owner_field());
}

std::string ScopePolicy::linked_scope_row(const ServerRow& row, const std::string& link) const {
  return text_field(row, link);
}

std::string ScopePolicy::seller_of(const std::string& id) const {
  const ServerRow& row = rows_.row(scope_table(), id);
  if (row.versions.empty()) return "";
  return owner_of(row);
}

bool ScopePolicy::may_read(const std::string& seller, const ServerRow& row) const {
  const std::string* link = link_of(row.table);
  const std::string scope_row = link ? linked_scope_row(row, *link) : row.id;
  return !scope_row.empty() && seller_of(scope_row) == seller;
}

ScopePolicy::SellerPush::SellerPush(const ScopePolicy& policy, std::string user,
                                    const ReplicaRecord& replica,
                                    const std::vector<PushedChange>& changes)
    : policy_(policy), user_(std::move(user)), replica_(replica) {
  for (const auto& pushed : changes) {
    const Change& c = pushed.change;
    const std::string* link = policy_.link_of(c.table);
    if (link && c.field == *link && c.value.is_text()) named_[{c.table, c.row}] = c.value.as_text();
  }
}

std::optional<std::string> ScopePolicy::SellerPush::refusal(const Change& change) {
  if (policy_.is_scope_table(change.table)) return scope_row_refusal(change);
  if (const std::string* link = policy_.link_of(change.table))
    return linked_row_refusal(change, *link);
  return std::nullopt;
}

std::optional<std::string> ScopePolicy::SellerPush::scope_row_refusal(const Change& change) {
  const ServerRow& row = policy_.rows_.row(change.table, change.row);
  const bool is_new = row.versions.empty() || created_.count(change.row);
  if (is_new) created_.insert(change.row);
  // A seller may name themselves owner, or leave a new customer's owner empty (the server
  // then makes it theirs); giving a customer to someone else is the office's.
  if (change.field == policy_.owner_field() && !(change.value == Value(user_)) &&
      !(is_new && change.value.is_null())) {
    return std::string("only a manager can give a customer to another seller");
  }
  if (is_new) return std::nullopt;
  if (std::string why; !may_write(change.row, why)) return why;
  return std::nullopt;
}

std::optional<std::string> ScopePolicy::SellerPush::linked_row_refusal(const Change& change,
                                                                       const std::string& link) {
  const ServerRow& row = policy_.rows_.row(change.table, change.row);
  // Its customer as stored, or for a row this push creates, the one the push names.
  std::string customer;
  auto linked = row.fields.find(link);
  if (linked != row.fields.end() && linked->second.is_text()) {
    customer = linked->second.as_text();
  } else if (auto named = named_.find({change.table, change.row}); named != named_.end()) {
    customer = named->second;
  }
  if (customer.empty())
    return "a new " + change.table + " row must name its customer (" + link + ")";
  std::string why;
  if (!created_.count(customer) && !may_write(customer, why)) return why;
  // Moving a row to another customer needs that customer to be the seller's too.
  if (change.field == link && change.value.is_text() && change.value.as_text() != customer &&
      !created_.count(change.value.as_text()) && !may_write(change.value.as_text(), why)) {
    return why;
  }
  return std::nullopt;
}

// Its versions, which the device chose, decide nothing: the device existed before the
// reassignment and the server has not sent it the eviction, or it may not write.
bool ScopePolicy::SellerPush::may_write(const std::string& id, std::string& why) const {
  if (policy_.seller_of(id) == user_) return true;
  if (auto lost = policy_.rows_.last_eviction(user_, policy_.scope_table(), id)) {
    if (replica_.first_seq < lost->seq && replica_.sent_seq < lost->seq) return true;
    why = "customer " + id +
          " was given to another seller, and this device had been told; ask the office";
    return false;
  }
  why = "customer " + id + " is not in your customer book";
  return false;
}

}  // namespace libreta::server
