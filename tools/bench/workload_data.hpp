// The reference data the workload draws from (WORKLOAD.md): Spanish cities with their
// prefixes, names, activities, streets, statuses, tags and notes, with their weights.
// Constants only; included by workload.cpp alone.
#pragma once

#include <cstdint>

namespace libreta::workload::data {

template <class T>
struct Weighted {
  T value;
  int weight;
};

struct City {
  const char* name;
  const char* region;
  const char* phone_prefix;   // the landline prefix of its province, after +34
  const char* postal_prefix;  // the two digits of its province
  int weight;                 // roughly by population, so big cities hold more customers
};

constexpr City kCities[] = {
    {"Madrid", "Comunidad de Madrid", "91", "28", 16},
    {"Barcelona", "Cataluña", "93", "08", 12},
    {"Valencia", "Comunitat Valenciana", "96", "46", 7},
    {"Sevilla", "Andalucía", "954", "41", 6},
    {"Zaragoza", "Aragón", "976", "50", 5},
    {"Málaga", "Andalucía", "952", "29", 5},
    {"Murcia", "Región de Murcia", "968", "30", 4},
    {"Palma", "Illes Balears", "971", "07", 4},
    {"Las Palmas de Gran Canaria", "Canarias", "928", "35", 4},
    {"Bilbao", "País Vasco", "944", "48", 3},
    {"Alicante", "Comunitat Valenciana", "965", "03", 3},
    {"Córdoba", "Andalucía", "957", "14", 3},
    {"Valladolid", "Castilla y León", "983", "47", 3},
    {"Vigo", "Galicia", "986", "36", 3},
    {"Gijón", "Principado de Asturias", "985", "33", 3},
    {"A Coruña", "Galicia", "981", "15", 2},
    {"Granada", "Andalucía", "958", "18", 2},
    {"Vitoria-Gasteiz", "País Vasco", "945", "01", 2},
    {"Pamplona", "Comunidad Foral de Navarra", "948", "31", 2},
    {"Santander", "Cantabria", "942", "39", 2},
    {"Logroño", "La Rioja", "941", "26", 2},
    {"Badajoz", "Extremadura", "924", "06", 2},
    {"Toledo", "Castilla-La Mancha", "925", "45", 2},
    {"Salamanca", "Castilla y León", "923", "37", 2},
};
static_assert(std::size(kCities) == 24);

constexpr const char* kFirstNames[] = {
    "José",      "María",    "Antonio",    "Carmen",   "Manuel",     "Ana",    "Francisco",
    "Isabel",    "David",    "Laura",      "Juan",     "Lucía",      "Javier", "Cristina",
    "José Luis", "Marta",    "Jesús",      "Pilar",    "Carlos",     "Elena",  "Alejandro",
    "Sofía",     "Miguel",   "Paula",      "Rafael",   "Raquel",     "Pablo",  "Beatriz",
    "Sergio",    "Mónica",   "Fernando",   "Rocío",    "Jorge",      "Inés",   "Álvaro",
    "Begoña",    "Ángel",    "Nuria",      "Raúl",     "Ángela",     "Iñaki",  "Verónica",
    "Rubén",     "Silvia",   "Adrián",     "Noelia",   "Óscar",      "Irene",  "Andrés",
    "Ainhoa",    "Joaquín",  "Montserrat", "Ramón",    "Concepción", "Víctor", "Dolores",
    "Íñigo",     "Remedios", "Tomás",      "Asunción",
};

constexpr const char* kSurnames[] = {
    "García",   "Fernández", "González",   "Rodríguez",   "López",    "Martínez",  "Sánchez",
    "Pérez",    "Gómez",     "Martín",     "Jiménez",     "Ruiz",     "Hernández", "Díaz",
    "Moreno",   "Muñoz",     "Álvarez",    "Romero",      "Alonso",   "Gutiérrez", "Navarro",
    "Torres",   "Domínguez", "Vázquez",    "Ramos",       "Gil",      "Ramírez",   "Serrano",
    "Blanco",   "Molina",    "Morales",    "Suárez",      "Ortega",   "Delgado",   "Castro",
    "Ortiz",    "Rubio",     "Marín",      "Sanz",        "Núñez",    "Iglesias",  "Medina",
    "Garrido",  "Cortés",    "Castillo",   "Santos",      "Lozano",   "Guerrero",  "Cano",
    "Prieto",   "Méndez",    "Cruz",       "Calvo",       "Gallego",  "Vidal",     "León",
    "Márquez",  "Herrera",   "Peña",       "Flores",      "Cabrera",  "Campos",    "Vega",
    "Fuentes",  "Carrasco",  "Díez",       "Caballero",   "Reyes",    "Nieto",     "Aguilar",
    "Pascual",  "Santana",   "Herrero",    "Lorenzo",     "Montero",  "Hidalgo",   "Giménez",
    "Ibáñez",   "Ferrer",    "Durán",      "Santiago",    "Benítez",  "Mora",      "Vicente",
    "Vargas",   "Arias",     "Carmona",    "Crespo",      "Román",    "Pastor",    "Soto",
    "Sáez",     "Velasco",   "Moya",       "Soler",       "Parra",    "Esteban",   "Bravo",
    "Gallardo", "Rojas",     "Echeverría", "Zubizarreta", "Quiñones", "Muñiz",
};

constexpr const char* kActivities[] = {
    "Distribuciones", "Ferretería", "Suministros", "Talleres",    "Construcciones", "Transportes",
    "Panadería",      "Farmacia",   "Hostelería",  "Bodegas",     "Muebles",        "Electricidad",
    "Fontanería",     "Comercial",  "Almacenes",   "Carpintería", "Instalaciones",  "Gestoría",
    "Clínica Dental", "Óptica",     "Librería",    "Papelería",   "Frutas",         "Cafetería",
    "Conservas",      "Reformas",   "Imprenta",    "Cerámicas",   "Aceites",        "Limpiezas",
};

struct LegalForm {
  const char* suffix;
  char cif_letter;  // the CIF letter of that legal form
};
constexpr Weighted<LegalForm> kLegalForms[] = {
    {{"S.L.", 'B'}, 55},   {{"S.A.", 'A'}, 15}, {{"S.L.U.", 'B'}, 15},
    {{"S.Coop.", 'F'}, 8}, {{"C.B.", 'E'}, 7},
};

// The 13 fields an edit may change, with their weights (sum 100).
constexpr Weighted<const char*> kEditFields[] = {
    {"status", 15}, {"notes", 20},          {"phone", 8},
    {"mobile", 8},  {"email", 8},           {"owner", 6},
    {"segment", 5}, {"annual_revenue", 8},  {"purchase_potential", 5},
    {"tags", 8},    {"billing_address", 3}, {"shipping_address", 3},
    {"name", 3},
};

constexpr Weighted<const char*> kStreetTypes[] = {{"Calle", 70}, {"Avenida", 20}, {"Plaza", 10}};
// clang-format off
constexpr const char* kStreetNames[] = {
    "Mayor", "de Alcalá", "Real", "del Carmen", "de la Constitución", "San Fernando",
    "de Andalucía", "Nueva", "del Sol", "de la Paz", "de España", "de los Reyes Católicos",
    "Doctor Fleming", "de Cervantes", "Blas de Otero", "de la Estación", "Santa Ana", "del Pilar",
    "de Goya", "Ramón y Cajal", "Miguel Hernández", "Federico García Lorca", "de Colón",
    "de la Ribera", "Príncipe de Vergara", "San Vicente", "de Castilla", "Juan de Austria",
    "de los Olmos", "Núñez de Balboa"};
// clang-format on
constexpr const char* kDoors[] = {"A", "B", "C", "D", "izda.", "dcha.", "centro"};

constexpr Weighted<const char*> kCountries[] = {
    {"España", 94}, {"Portugal", 3}, {"Francia", 2}, {"Andorra", 1}};
constexpr Weighted<const char*> kStatuses[] = {
    {"prospect", 30}, {"active", 35}, {"occasional", 15}, {"inactive", 12}, {"lost", 8}};
constexpr Weighted<const char*> kSegments[] = {{"A", 15}, {"B", 35}, {"C", 50}};
constexpr Weighted<const char*> kSocioeconomicLevels[] = {{"A", 10},  {"B", 20}, {"C1", 25},
                                                          {"C2", 20}, {"D", 15}, {"E", 10}};
constexpr const char* kEmailProviders[] = {"gmail.com",  "hotmail.com",    "yahoo.es",
                                           "outlook.es", "telefonica.net", "icloud.com"};
constexpr Weighted<const char*> kCompanyMailboxes[] = {
    {"info", 60}, {"contacto", 15}, {"pedidos", 10}, {"administracion", 10}, {"comercial", 5}};

constexpr const char* kTags[] = {
    "vip",           "moroso",          "pago-30d",    "pago-60d",   "pago-90d",
    "contado",       "recurrente",      "estacional",  "mayorista",  "minorista",
    "franquicia",    "online",          "referido",    "feria-2024", "descuento-volumen",
    "envío-urgente", "requiere-visita", "exportación",
};
static_assert(std::size(kTags) == 18);
static_assert(std::size(kWorkloadFields) == 22);

constexpr const char* kNoteSentences[] = {
    "Prefiere que le visiten los martes por la mañana.",
    "Pide presupuesto para la campaña de otoño.",
    "Paga a 60 días; enviar la factura antes del día 25.",
    "Muy satisfecho con el último pedido, quiere repetir.",
    "Se queja del plazo de entrega del mes pasado.",
    "Interesado en la nueva línea de productos ecológicos.",
    "Hablar con el responsable de compras, no con recepción.",
    "Tiene almacén nuevo en el polígono; revisar la dirección de envío.",
    "La competencia le ofrece un 5 % menos; negociar descuento por volumen.",
    "Cliente de toda la vida, trato muy cordial.",
    "No llamar antes de las 10:00 ni a la hora de comer.",
    "Ha cambiado de gerente; concertar una reunión de presentación.",
    "Solicita muestras del catálogo de primavera.",
    "Pendiente de confirmar el pedido de diciembre.",
    "Le interesa la financiación a 12 meses sin intereses.",
    "Revisar el riesgo antes de servir pedidos nuevos.",
    "Cierra por vacaciones la segunda quincena de agosto.",
    "Quiere recibir las ofertas por correo electrónico.",
    "Conoce a otros comercios de la zona que podrían comprarnos.",
    "Última visita: buena acogida del expositor nuevo.",
    "Pregunta por el envío gratuito a partir de 300 €.",
    "Reclamó un albarán duplicado; ya está resuelto.",
    "Valora mucho la atención personal y la rapidez.",
    "Compra sobre todo en Navidad y en Semana Santa.",
};

// 2015-01-01T00:00:00Z and 2025-01-01T00:00:00Z in seconds since the epoch.
constexpr std::int64_t kFirstSecond = 1'420'070'400;
constexpr std::int64_t kEndSecond = 1'735'689'600;

}  // namespace libreta::workload::data
