#include "libreta/protocol/labels.hpp"

namespace libreta {
namespace {

// Field labels, shared by every table that has a field of that name. They are also the
// headers of the exported CSV, and the importer recognizes them in both languages.
constexpr LabelEntry kFieldLabels[] = {
    {"kind", "", "Tipo", "Kind"},
    {"name", "", "Nombre", "Name"},
    {"trade_name", "", "Nombre comercial", "Trade name"},
    {"tax_id", "", "NIF", "Tax ID"},
    {"fiscal_regime", "", "Régimen fiscal", "Tax regime"},
    {"billing_address", "", "Dirección de facturación", "Billing address"},
    {"shipping_address", "", "Dirección de envío", "Shipping address"},
    {"postal_code", "", "Código postal", "Postal code"},
    {"city", "", "Ciudad", "City"},
    {"region", "", "Provincia", "Region"},
    {"country", "", "País", "Country"},
    {"phone", "", "Teléfono", "Phone"},
    {"mobile", "", "Móvil", "Mobile"},
    {"email", "", "Email", "Email"},
    {"website", "", "Web", "Website"},
    {"status", "", "Estado", "Status"},
    {"relationship", "", "Relación", "Relationship"},
    {"segment", "", "Segmento", "Segment"},
    {"quality_rank", "", "Calidad", "Quality rank"},
    {"owner", "", "Vendedor", "Owner"},
    {"territory", "", "Zona", "Territory"},
    {"annual_revenue", "", "Facturación anual", "Annual revenue"},
    {"purchase_potential", "", "Potencial de compra", "Purchase potential"},
    {"socioeconomic_level", "", "Nivel socioeconómico", "Socioeconomic level"},
    {"products_services", "", "Productos y servicios", "Products and services"},
    {"tags", "", "Etiquetas", "Tags"},
    {"notes", "", "Notas", "Notes"},
    {"birthday", "", "Cumpleaños", "Birthday"},
    {"anniversary", "", "Aniversario", "Anniversary"},
    {"created_at", "", "Creado", "Created"},
    {"updated_at", "", "Actualizado", "Updated"},
    {"customer_id", "", "Cliente", "Customer"},
    {"contact_id", "", "Contacto", "Contact"},
    {"interaction_id", "", "Interacción", "Interaction"},
    {"role", "", "Cargo", "Role"},
    {"address", "", "Dirección", "Address"},
    {"social", "", "Redes sociales", "Social networks"},
    {"personal_notes", "", "Notas personales", "Personal notes"},
    {"type", "", "Tipo", "Type"},
    {"date", "", "Fecha", "Date"},
    {"outcome", "", "Resultado", "Outcome"},
    {"lost_reason", "", "Motivo de pérdida", "Lost reason"},
    {"revisit_on", "", "Revisar el", "Revisit on"},
    {"amount", "", "Importe", "Amount"},
    {"product", "", "Producto", "Product"},
    {"quantity", "", "Cantidad", "Quantity"},
    {"due", "", "Vence", "Due"},
    {"title", "", "Título", "Title"},
    {"done", "", "Hecho", "Done"},
    {"done_at", "", "Hecho el", "Done on"},
};

constexpr LabelEntry kChoiceLabels[] = {
    {"kind", "company", "empresa", "company"},
    {"kind", "person", "persona", "person"},
    {"status", "prospect", "potencial", "prospect"},
    {"status", "active", "activo", "active"},
    {"status", "occasional", "ocasional", "occasional"},
    {"status", "inactive", "inactivo", "inactive"},
    {"status", "lost", "perdido", "lost"},
    {"relationship", "active", "activa", "active"},
    {"relationship", "regular", "habitual", "regular"},
    {"relationship", "occasional", "ocasional", "occasional"},
    {"relationship", "inactive", "inactiva", "inactive"},
    {"purchase_potential", "alto", "alto", "high"},
    {"purchase_potential", "medio", "medio", "medium"},
    {"purchase_potential", "bajo", "bajo", "low"},
    {"type", "visit", "visita", "visit"},
    {"type", "call", "llamada", "call"},
    {"type", "email", "email", "email"},
    {"type", "quote", "presupuesto", "quote"},
    {"type", "order", "pedido", "order"},
    {"type", "complaint", "queja", "complaint"},
    {"type", "meeting", "reunión", "meeting"},
    {"type", "other", "otro", "other"},
    {"outcome", "pending", "pendiente", "pending"},
    {"outcome", "positive", "positivo", "positive"},
    {"outcome", "neutral", "neutro", "neutral"},
    {"outcome", "negative", "negativo", "negative"},
    {"outcome", "won", "ganado", "won"},
    {"outcome", "lost", "perdido", "lost"},
    {"boolean", "true", "sí", "yes"},
    {"boolean", "false", "no", "no"},
    {"date_kind", "birthday", "cumpleaños", "birthday"},
    {"date_kind", "anniversary", "aniversario", "anniversary"},
    {"rfm_segment", "champions", "campeones", "champions"},
    {"rfm_segment", "loyal", "leales", "loyal"},
    {"rfm_segment", "potential_loyalist", "leales en potencia", "potential loyalists"},
    {"rfm_segment", "new", "nuevos", "new"},
    {"rfm_segment", "promising", "prometedores", "promising"},
    {"rfm_segment", "need_attention", "necesitan atención", "need attention"},
    {"rfm_segment", "about_to_sleep", "a punto de dormirse", "about to sleep"},
    {"rfm_segment", "cant_lose", "no podemos perderlos", "can't lose them"},
    {"rfm_segment", "at_risk", "en riesgo", "at risk"},
    {"rfm_segment", "hibernating", "hibernando", "hibernating"},
    {"rfm_segment", "lost", "perdidos", "lost"},
};

}  // namespace

std::span<const LabelEntry> field_labels() {
  return kFieldLabels;
}
std::span<const LabelEntry> choice_labels() {
  return kChoiceLabels;
}

std::string_view field_label(std::string_view field, bool spanish) {
  for (const auto& entry : kFieldLabels) {
    if (field == entry.key) return spanish ? entry.es : entry.en;
  }
  return field;
}

std::string_view choice_label(std::string_view field, std::string_view value, bool spanish) {
  for (const auto& entry : kChoiceLabels) {
    if (field == entry.key && value == entry.value) return spanish ? entry.es : entry.en;
  }
  return value;
}

}  // namespace libreta
