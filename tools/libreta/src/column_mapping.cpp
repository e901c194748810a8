#include "column_mapping.hpp"

#include <algorithm>

#include "libreta/protocol/customer_book.hpp"
#include "libreta/protocol/text.hpp"
#include "messages.hpp"

namespace libreta::cli {
namespace {

struct HeaderAlias {
  const char* key;  // as header_key() gives it
  const char* field;
};

// Besides these, every field's name and its labels in both languages (messages.cpp) are
// recognized.
constexpr HeaderAlias kHeaderAliases[] = {
    {"id", kIdColumn},
    {"identificador", kIdColumn},
    {"uuid", kIdColumn},
    {"tipo", "kind"},
    {"tipodecliente", "kind"},
    {"tipocliente", "kind"},
    {"customertype", "kind"},
    {"nombre", "name"},
    {"name", "name"},
    {"razonsocial", "name"},
    {"denominacion", "name"},
    {"denominacionsocial", "name"},
    {"nombrefiscal", "name"},
    {"nombrerazonsocial", "name"},
    {"nombreorazonsocial", "name"},
    {"nombrecompleto", "name"},
    {"empresa", "name"},
    {"cliente", "name"},
    {"fullname", "name"},
    {"legalname", "name"},
    {"company", "name"},
    {"companyname", "name"},
    {"customer", "name"},
    {"customername", "name"},
    {"nombrecomercial", "trade_name"},
    {"rotulo", "trade_name"},
    {"marca", "trade_name"},
    {"dba", "trade_name"},
    {"nif", "tax_id"},
    {"cif", "tax_id"},
    {"nie", "tax_id"},
    {"dni", "tax_id"},
    {"nifcif", "tax_id"},
    {"cifnif", "tax_id"},
    {"taxid", "tax_id"},
    {"vat", "tax_id"},
    {"vatid", "tax_id"},
    {"vatnumber", "tax_id"},
    {"identificacionfiscal", "tax_id"},
    {"numerofiscal", "tax_id"},
    {"rfc", "tax_id"},
    {"ruc", "tax_id"},
    {"cuit", "tax_id"},
    {"regimenfiscal", "fiscal_regime"},
    {"regimen", "fiscal_regime"},
    {"taxregime", "fiscal_regime"},
    {"direccion", "billing_address"},
    {"address", "billing_address"},
    {"domicilio", "billing_address"},
    {"domiciliofiscal", "billing_address"},
    {"direccionfacturacion", "billing_address"},
    {"calle", "billing_address"},
    {"street", "billing_address"},
    {"direccionenvio", "shipping_address"},
    {"direcciondeentrega", "shipping_address"},
    {"direccionentrega", "shipping_address"},
    {"deliveryaddress", "shipping_address"},
    {"cp", "postal_code"},
    {"codpostal", "postal_code"},
    {"zip", "postal_code"},
    {"zipcode", "postal_code"},
    {"postcode", "postal_code"},
    {"localidad", "city"},
    {"poblacion", "city"},
    {"municipio", "city"},
    {"town", "city"},
    {"provincia", "region"},
    {"comunidad", "region"},
    {"comunidadautonoma", "region"},
    {"province", "region"},
    {"state", "region"},
    {"departamento", "region"},
    {"pais", "country"},
    {"tel", "phone"},
    {"telefono", "phone"},
    {"telefonofijo", "phone"},
    {"fijo", "phone"},
    {"telefono1", "phone"},
    {"telephone", "phone"},
    {"phonenumber", "phone"},
    {"landline", "phone"},
    {"movil", "mobile"},
    {"telefonomovil", "mobile"},
    {"celular", "mobile"},
    {"cel", "mobile"},
    {"cell", "mobile"},
    {"cellphone", "mobile"},
    {"mobilephone", "mobile"},
    {"whatsapp", "mobile"},
    {"correo", "email"},
    {"correoelectronico", "email"},
    {"mail", "email"},
    {"emailaddress", "email"},
    {"web", "website"},
    {"paginaweb", "website"},
    {"sitioweb", "website"},
    {"url", "website"},
    {"estado", "status"},
    {"situacion", "status"},
    {"estadocliente", "status"},
    {"relacion", "relationship"},
    {"tipoderelacion", "relationship"},
    {"segmento", "segment"},
    {"clasificacion", "segment"},
    {"abc", "segment"},
    {"calidad", "quality_rank"},
    {"ranking", "quality_rank"},
    {"rank", "quality_rank"},
    {"valoracion", "quality_rank"},
    {"vendedor", "owner"},
    {"comercial", "owner"},
    {"asignadoa", "owner"},
    {"responsable", "owner"},
    {"seller", "owner"},
    {"salesrep", "owner"},
    {"agente", "owner"},
    {"zona", "territory"},
    {"territorio", "territory"},
    {"ruta", "territory"},
    {"facturacion", "annual_revenue"},
    {"facturacionanual", "annual_revenue"},
    {"ventasanuales", "annual_revenue"},
    {"revenue", "annual_revenue"},
    {"ingresos", "annual_revenue"},
    {"potencial", "purchase_potential"},
    {"potencialdecompra", "purchase_potential"},
    {"potential", "purchase_potential"},
    {"nse", "socioeconomic_level"},
    {"productos", "products_services"},
    {"servicios", "products_services"},
    {"products", "products_services"},
    {"productsandservices", "products_services"},
    {"etiqueta", "tags"},
    {"tag", "tags"},
    {"labels", "tags"},
    {"categorias", "tags"},
    {"nota", "notes"},
    {"observaciones", "notes"},
    {"comentarios", "notes"},
    {"descripcion", "notes"},
    {"description", "notes"},
    {"comments", "notes"},
    {"cumpleanos", "birthday"},
    {"fechadenacimiento", "birthday"},
    {"fechanacimiento", "birthday"},
    {"nacimiento", "birthday"},
    {"birthdate", "birthday"},
    {"dateofbirth", "birthday"},
    {"clientedesde", "anniversary"},
    {"customersince", "anniversary"},
    {"fechaalta", "anniversary"},
    {"fechadealta", "anniversary"},
    {"apellidos", kSurnameColumn},
    {"apellido", kSurnameColumn},
    {"apellido1", kSurnameColumn},
    {"apellido2", kSurnameColumn},
    {"primerapellido", kSurnameColumn},
    {"segundoapellido", kSurnameColumn},
    {"surname", kSurnameColumn},
    {"lastname", kSurnameColumn},
    {"familyname", kSurnameColumn},
};

bool is_alnum_ascii(char c) {
  return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

}  // namespace

std::string header_key(std::string_view header) {
  std::string folded = fold_text(header);
  if (folded.size() >= 3 && folded.substr(0, 3) == "\xef\xbb\xbf") folded.erase(0, 3);
  std::string key;
  for (char c : folded) {
    if (is_alnum_ascii(c) || (static_cast<unsigned char>(c) & 0x80)) key += c;
  }
  return key;
}

std::optional<std::string> field_for_header(std::string_view header) {
  const std::string key = header_key(header);
  if (key.empty()) return std::nullopt;
  for (const auto& alias : kHeaderAliases) {
    if (key == alias.key) return std::string(alias.field);
  }
  const TableSpec& customers = *customer_book_schema().table(tables::customers);
  for (const auto& field : customers.fields) {
    if (key == header_key(field.name)) return field.name;
    for (Lang lang : {Lang::es, Lang::en}) {
      if (key == header_key(field_label(field.name, lang))) return field.name;
    }
  }
  return std::nullopt;
}

bool ColumnMapping::has(std::string_view field) const {
  return std::any_of(columns.begin(), columns.end(),
                     [&](const MappedColumn& c) { return c.field == field && !c.repeated; });
}

ColumnMapping map_columns(const std::vector<std::string>& headers,
                          const std::vector<std::string>& overrides, MapError& error) {
  error = {};
  ColumnMapping mapping;
  for (std::size_t i = 0; i < headers.size(); ++i) {
    MappedColumn column;
    column.index = i;
    column.header = headers[i];
    mapping.columns.push_back(std::move(column));
  }
  for (const auto& override_text : overrides) {
    const auto equals = override_text.rfind('=');
    if (equals == std::string::npos) {
      error = {MapProblem::bad_syntax, override_text};
      return mapping;
    }
    const std::string key = header_key(override_text.substr(0, equals));
    const std::string target = override_text.substr(equals + 1);
    auto column = std::find_if(mapping.columns.begin(), mapping.columns.end(),
                               [&](const MappedColumn& c) { return header_key(c.header) == key; });
    if (key.empty() || column == mapping.columns.end()) {
      error = {MapProblem::no_such_column, override_text};
      return mapping;
    }
    column->from_map = true;
    if (target.empty() || target == "-") {
      column->field.clear();
      continue;
    }
    const TableSpec& customers = *customer_book_schema().table(tables::customers);
    if (customers.field(target)) {
      column->field = target;
    } else if (auto field = field_for_header(target)) {
      column->field = *field;
    } else {
      error = {MapProblem::unknown_field, override_text};
      return mapping;
    }
  }
  std::vector<std::string> taken;
  for (auto& column : mapping.columns) {
    if (column.from_map) {
      if (!column.field.empty() && column.field != kSurnameColumn) taken.push_back(column.field);
    }
  }
  for (auto& column : mapping.columns) {
    if (column.from_map) continue;
    if (header_key(column.header).empty()) {
      if (!column.header.empty()) mapping.unknown.push_back(column.header);
      continue;  // an unnamed column (a trailing separator): nothing to say
    }
    const auto field = field_for_header(column.header);
    if (!field) {
      mapping.unknown.push_back(column.header);
      continue;
    }
    if (*field != kSurnameColumn && std::find(taken.begin(), taken.end(), *field) != taken.end()) {
      column.field = *field;
      column.repeated = true;
      mapping.repeated.push_back(column.header);
      continue;
    }
    column.field = *field;
    if (*field != kSurnameColumn) taken.push_back(*field);
  }
  return mapping;
}

}  // namespace libreta::cli
