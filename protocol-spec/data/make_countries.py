#!/usr/bin/env python3
"""How countries.tsv was made. Run once at development time; not run in CI.

The committed countries.tsv is the source of truth: both cleanroom-core
(`normalize::country`, through `include_str!`) and the reference checker
(protocol-spec/reference/country.py) read it, and neither runs this script.
Changing an alias changes which accounts match, so regenerating the table is
a protocol change, reviewed line by line like any other.

    python3 -m venv /tmp/venv && /tmp/venv/bin/pip install pycountry==26.2.16
    /tmp/venv/bin/python protocol-spec/data/make_countries.py

Sources, in order of precedence (an alias keeps the code of its first source):

1. ISO 3166-1 from pycountry (the Debian iso-codes data): for each of the 249
   entries the alpha-2 code, the alpha-3 code, the short name, the common name
   and the official name.
2. Hand-written aliases below (CURATED): English variants and abbreviations,
   historical names that name exactly one country today, endonyms in their own
   scripts and common transliterations.
   Sources 1 and 2 must never disagree: a conflict stops the script.
3. pycountry's translations of the ISO names: into TRANSLATION_LANGS for every
   country, and into each country's own languages (OWN_LANGS) for that
   country. A translated alias that a source 1 or 2 alias already maps to
   another code is dropped; one that two translations map to different codes
   is dropped too (both are listed in the table's header).

Aliases in DROP are never emitted (genuinely ambiguous names).

Every alias is stored in normal form (the reference implementation's
`normal_form`), and the lines are sorted by alias in code point order (which is
also UTF-8 byte order).
"""

import gettext
import importlib.util
import pathlib
import sys

import pycountry

HERE = pathlib.Path(__file__).resolve().parent
OUT = HERE / "countries.tsv"

_spec = importlib.util.spec_from_file_location(
    "country_reference", HERE.parent / "reference" / "country.py"
)
_reference = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(_reference)
normal_form = _reference.normal_form

# Languages whose translations of every country's name are included: the
# languages CRM exports most often use besides English.
TRANSLATION_LANGS = [
    "de", "fr", "es", "pt", "pt_BR", "it", "nl",
    "ja", "zh_CN", "zh_TW", "ko", "ru",
]

# A country's own languages (pycountry locale names): the translations of its
# own names into these are included, for the largest economies and their
# neighbours. Not Amharic (its "Ethiopia" is garbled) nor Nepali (its Nepal
# official name says Ethiopia): those countries' endonyms are in CURATED.
OWN_LANGS = {
    "ae": ["ar"], "sa": ["ar"], "eg": ["ar"], "iq": ["ar"], "dz": ["ar", "fr"],
    "ma": ["ar", "fr"], "qa": ["ar"], "kw": ["ar"], "om": ["ar"], "jo": ["ar"],
    "lb": ["ar", "fr"], "tn": ["ar", "fr"], "bh": ["ar"], "ly": ["ar"],
    "sy": ["ar"], "ye": ["ar"], "sd": ["ar"],
    "es": ["es", "ca", "eu", "gl"], "mx": ["es"], "ar": ["es"], "co": ["es"],
    "cl": ["es"], "pe": ["es"], "ve": ["es"], "ec": ["es"], "do": ["es"],
    "gt": ["es"], "cr": ["es"], "pa": ["es"], "uy": ["es"], "bo": ["es"],
    "py": ["es"], "cu": ["es"], "hn": ["es"], "sv": ["es"], "ni": ["es"],
    "pr": ["es"],
    "br": ["pt_BR", "pt"], "pt": ["pt"], "ao": ["pt"], "mz": ["pt"],
    "fr": ["fr"], "be": ["fr", "nl", "de"], "ch": ["de", "fr", "it"],
    "lu": ["fr", "de"], "mc": ["fr"], "ca": ["fr"], "ci": ["fr"], "sn": ["fr"],
    "cm": ["fr"],
    "de": ["de"], "at": ["de"], "li": ["de"],
    "it": ["it"], "sm": ["it"], "va": ["it"], "nl": ["nl"],
    "jp": ["ja"], "cn": ["zh_CN"], "tw": ["zh_TW"], "hk": ["zh_HK", "zh_TW"],
    "mo": ["zh_HK", "zh_TW"], "sg": ["zh_CN", "ms", "ta"], "kr": ["ko"],
    "kp": ["ko"],
    "ru": ["ru"], "by": ["be", "ru"], "kz": ["kk", "ru"], "ua": ["uk"],
    "uz": ["uz"],
    "pl": ["pl"], "se": ["sv"], "dk": ["da"], "no": ["nb_NO", "nn"],
    "fi": ["fi", "sv"], "is": ["is"], "ee": ["et"], "lv": ["lv"], "lt": ["lt"],
    "cz": ["cs"], "sk": ["sk"], "hu": ["hu"], "ro": ["ro"], "md": ["ro"],
    "bg": ["bg"], "hr": ["hr"], "rs": ["sr", "sr@latin"], "si": ["sl"],
    "gr": ["el"], "cy": ["el", "tr"], "tr": ["tr"], "al": ["sq"], "mk": ["mk"],
    "ba": ["bs"],
    "il": ["he"], "ir": ["fa"], "in": ["hi"], "bd": ["bn"], "pk": ["ur"],
    "lk": ["si", "ta"],
    "id": ["id"], "my": ["ms"], "th": ["th"], "vn": ["vi"], "ph": ["fil"],
    "kh": ["km"], "la": ["lo"], "mm": ["my"],
    "ie": ["ga"], "mt": ["mt"],
    "ke": ["sw"], "tz": ["sw"], "za": ["af", "zu", "xh"],
    "ng": ["ha", "yo"],
    "ge": ["ka"], "am": ["hy"], "az": ["az"], "af": ["ps", "fa"], "mn": ["mn"],
    "nz": ["mi"],
}

# Hand-written aliases, any spelling (they are normalized here). Endonyms are
# in their own scripts; transliterations are the common ones.
CURATED = {
    "ae": ["UAE", "U.A.E.", "U. A. E.", "Emirates", "The Emirates", "Arab Emirates",
           "الإمارات", "الإمارات العربية المتحدة", "Al Imarat",
           ],
    "af": ["افغانستان", "Afghanestan"],
    "ag": ["Antigua", "Antigua & Barbuda"],
    "al": ["Shqipëria", "Shqipëri", "Shqiperia"],
    "am": ["Հայաստան", "Hayastan"],
    "ar": ["Argentine Republic", "República Argentina"],
    "at": ["Österreich", "Republik Österreich", "Oesterreich"],
    "au": ["Commonwealth of Australia"],
    "az": ["Azərbaycan", "Azerbaycan"],
    "ba": ["Bosnia", "Bosnia Herzegovina", "Bosnia-Herzegovina",
           "Bosna i Hercegovina", "Босна и Херцеговина", "BiH"],
    "bd": ["বাংলাদেশ"],
    "be": ["België", "Belgique", "Belgien", "Belgie"],
    "bf": ["Upper Volta"],
    "bg": ["България", "Balgariya", "Bulgariya"],
    "bh": ["البحرين", "Al Bahrain"],
    "bl": ["Saint Barthelemy", "Saint Barth", "St Barth", "St Barts",
          "Saint Barts", "St Barths"],
    "bn": ["Brunei", "Brunei Darussalam", "Negara Brunei Darussalam"],
    "bo": ["Bolivia", "Estado Plurinacional de Bolivia"],
    "bq": ["Caribbean Netherlands", "Bonaire", "Sint Eustatius", "Saba",
           "Bonaire Sint Eustatius and Saba", "BES Islands"],
    "br": ["Brasil", "República Federativa do Brasil"],
    "bs": ["Bahamas", "The Bahamas", "Commonwealth of The Bahamas"],
    "by": ["Беларусь", "Belarus", "Byelorussia", "Belorussia", "Bielarus",
           "Рэспубліка Беларусь"],
    "ca": ["Canada"],
    "cc": ["Cocos Islands", "Keeling Islands", "Cocos Keeling Islands"],
    "cd": ["DRC", "DR Congo", "D.R. Congo", "DROC", "Congo-Kinshasa",
           "Congo Kinshasa", "Democratic Republic of the Congo",
           "Democratic Republic of Congo", "Congo, Democratic Republic of the",
           "Congo (DRC)", "Congo, DR", "RDC",
           "République démocratique du Congo", "Zaire", "Zaïre"],
    "cg": ["Congo-Brazzaville", "Congo Brazzaville", "Republic of the Congo",
           "Republic of Congo", "Congo, Republic of the", "Congo (Republic)",
           "Congo Republic", "République du Congo"],
    "ch": ["Schweiz", "Suisse", "Svizzera", "Svizra", "Helvetia",
           "Confoederatio Helvetica", "Swiss Confederation",
           "Schweizerische Eidgenossenschaft", "Confédération suisse"],
    "ci": ["Ivory Coast", "Cote d'Ivoire", "Cote d Ivoire", "Cote dIvoire",
           "Côte d’Ivoire", "Republic of Cote d'Ivoire"],
    "cl": ["República de Chile"],
    "cn": ["PRC", "P.R. China", "PR China", "China PRC", "China Mainland",
           "Mainland China", "People's Republic of China", "中国", "中國",
           "中华人民共和国", "中華人民共和國", "Zhongguo",
           "China (Mainland)"],
    "co": ["República de Colombia"],
    "cv": ["Cape Verde", "Cabo Verde", "Cape Verde Islands"],
    "cw": ["Curacao", "Curaçao", "Kòrsou"],
    "cy": ["Κύπρος", "Kıbrıs", "Kypros"],
    "cz": ["Czech Republic", "Czechia", "Czech", "Česko", "Česká republika",
           "Cesko", "Ceska republika"],
    "de": ["Deutschland", "Bundesrepublik Deutschland", "Federal Republic of Germany",
           "BRD"],
    "dk": ["Danmark", "Kongeriget Danmark"],
    "do": ["Dominican Republic", "República Dominicana", "Rep. Dominicana",
           "Republica Dominicana", "Dominicana"],
    "dz": ["Algérie", "Algerie", "الجزائر", "Al Jazair", "Al-Jazaïr"],
    "ec": ["República del Ecuador"],
    "ee": ["Eesti", "Eesti Vabariik"],
    "eg": ["Egypt", "مصر", "Misr", "Masr", "Arab Republic of Egypt"],
    "es": ["España", "Espana", "Espanya", "Espainia", "Reino de España",
           "Kingdom of Spain"],
    "et": ["ኢትዮጵያ", "Ityopya", "Ethiopia"],
    "fi": ["Suomi", "Finland", "Suomen tasavalta"],
    "fk": ["Falkland Islands", "Falklands", "Malvinas", "Islas Malvinas",
           "Falkland Islands (Malvinas)"],
    "fm": ["Micronesia", "Federated States of Micronesia", "FSM"],
    "fo": ["Faroe Islands", "Faroes", "Faeroe Islands", "Føroyar", "Faroe"],
    "fr": ["France", "République française", "Republique francaise",
           "French Republic"],
    "gb": ["UK", "U.K.", "U. K.", "Great Britain", "Britain", "England", "Scotland",
           "Wales", "Northern Ireland", "United Kingdom",
           "United Kingdom of Great Britain and Northern Ireland",
           "United Kingdom (Great Britain)", "UK (Great Britain)",
           "England UK", "Cymru", "Gran Bretaña", "Grande-Bretagne",
           "Großbritannien", "Grossbritannien", "Inglaterra", "Angleterre",
           "England (UK)", "Scotland UK", "Wales UK", "Northern Ireland UK",
           "Gran Bretagna", "Inghilterra", "Engeland", "Groot-Brittannië",
           "Grã-Bretanha", "Schottland", "Écosse", "Escocia", "Pays de Galles",
           "Gales", "Irlanda del Norte", "Nordirland", "Irlande du Nord",
           "イギリス", "英国", "英國", "영국", "Великобритания", "Англия",
           "Британия"],
    "ge": ["საქართველო", "Sakartvelo"],
    "gm": ["Gambia", "The Gambia", "Republic of The Gambia"],
    "gr": ["Ελλάδα", "Ελλάς", "Ellada", "Ellas", "Hellas", "Hellenic Republic",
           "Elláda"],
    "gs": ["South Georgia", "South Georgia and South Sandwich Islands",
           "South Sandwich Islands"],
    "hk": ["Hong Kong", "Hongkong", "Hong Kong SAR", "Hong Kong S.A.R.",
           "HKSAR", "Hong Kong SAR China", "Hong Kong (SAR)",
           "Hong Kong, China", "Hong Kong China", "China Hong Kong",
           "Hong Kong Special Administrative Region",
           "香港", "中國香港", "中国香港", "香港特別行政區", "香港特别行政区"],
    "hm": ["Heard Island", "McDonald Islands", "Heard and McDonald Islands"],
    "hr": ["Hrvatska", "Republika Hrvatska"],
    "hu": ["Magyarország", "Magyarorszag"],
    "id": ["Republik Indonesia", "Indonesia"],
    "ie": ["Éire", "Eire", "Republic of Ireland", "Ireland (Republic)",
           "Ireland, Republic of", "Irish Republic", "Poblacht na hÉireann"],
    "il": ["ישראל", "Yisrael", "Israel", "إسرائيل", "State of Israel"],
    "in": ["Bharat", "Bhārat", "भारत", "Hindustan", "Republic of India",
           "भारत गणराज्य"],
    "iq": ["العراق", "Al Iraq", "Al-Iraq"],
    "ir": ["Iran", "Persia", "ایران", "Islamic Republic of Iran", "Iran (Islamic Republic of)",
           "Jomhuri-ye Eslami-ye Iran"],
    "is": ["Ísland", "Island"],
    "it": ["Italia", "Repubblica Italiana", "Italian Republic"],
    "jo": ["الأردن", "Al Urdun", "Hashemite Kingdom of Jordan"],
    "jp": ["Nippon", "Nihon", "日本", "日本国", "にほん", "にっぽん",
           "Nippon-koku", "Nihon-koku"],
    "kh": ["កម្ពុជា", "Kampuchea"],
    "kn": ["Saint Kitts and Nevis", "St Kitts and Nevis", "St. Kitts & Nevis",
           "Saint Kitts", "St Kitts", "Saint Christopher and Nevis", "Nevis"],
    "kp": ["North Korea", "Korea, North", "Korea North", "DPRK", "D.P.R.K.",
           "Korea DPR", "Korea, DPR", "DPR Korea",
           "Democratic People's Republic of Korea", "조선",
           "조선민주주의인민공화국", "북한", "朝鲜", "朝鮮", "Choson"],
    "kr": ["South Korea", "Korea", "Korea, South", "Korea South",
           "Republic of Korea", "Korea, Republic of", "Korea (South)",
           "Korea Republic", "대한민국", "한국", "남한", "Hanguk", "Han'guk",
           "Daehan Minguk", "Taehan Min'guk", "韓国", "韓國", "韩国",
           "大韓民国", "大韩民国", "大韓民國"],
    "kw": ["الكويت", "Al Kuwait", "State of Kuwait"],
    "kz": ["Қазақстан", "Казахстан", "Qazaqstan", "Kazakstan"],
    "la": ["Laos", "Lao", "Lao PDR", "Lao P.D.R.", "ລາວ",
           "Lao People's Democratic Republic"],
    "lb": ["لبنان", "Liban", "Lubnan"],
    "lc": ["Saint Lucia", "St Lucia", "St. Lucia"],
    "lk": ["Sri Lanka", "ශ්‍රී ලංකාව", "இலங்கை", "Ceylon"],
    "lt": ["Lietuva", "Lietuvos Respublika"],
    "lu": ["Lëtzebuerg", "Letzebuerg", "Luxemburg", "Grand Duchy of Luxembourg"],
    "lv": ["Latvija", "Latvijas Republika"],
    "ly": ["ليبيا", "Libya", "Libyan Arab Jamahiriya"],
    "ma": ["Maroc", "المغرب", "Al Maghrib", "Al-Maghrib", "Royaume du Maroc"],
    "md": ["Moldova", "Republic of Moldova", "Moldavia", "Republica Moldova"],
    "mf": ["Saint Martin", "St Martin", "Saint-Martin", "Saint Martin (France)",
           "Saint Martin French part", "Collectivity of Saint Martin"],
    "mk": ["North Macedonia", "Macedonia", "Republic of North Macedonia",
           "Republic of Macedonia", "FYROM", "F.Y.R.O.M.",
           "Former Yugoslav Republic of Macedonia",
           "Macedonia, the former Yugoslav Republic of",
           "Северна Македонија", "Македонија", "Severna Makedonija",
           "Makedonija"],
    "mm": ["Burma", "Myanmar", "Myanmar (Burma)", "Burma (Myanmar)",
           "Republic of the Union of Myanmar", "မြန်မာ"],
    "mn": ["Монгол Улс", "Монгол", "Mongol Uls"],
    "mo": ["Macau", "Macao", "Macao SAR", "Macau SAR", "Macao SAR China",
           "Macau SAR China", "Macau, China", "Macao, China", "Macau China",
           "Macao China", "Macao Special Administrative Region",
           "澳門", "澳门", "中國澳門", "中国澳门", "澳門特別行政區",
           "澳门特别行政区"],
    "mx": ["México", "Mejico", "Estados Unidos Mexicanos", "United Mexican States"],
    "my": ["Malaysia", "ملايسيا"],
    "nl": ["Holland", "Nederland", "The Netherlands", "Netherlands",
           "Kingdom of the Netherlands", "Koninkrijk der Nederlanden",
           "Pays-Bas", "Niederlande", "Países Bajos", "Paesi Bassi"],
    "no": ["Norge", "Noreg", "Kingdom of Norway"],
    "np": ["नेपाल"],
    "nz": ["New Zealand", "Aotearoa", "Aotearoa New Zealand",
           "New Zealand (Aotearoa)"],
    "om": ["عمان", "Sultanate of Oman", "Uman"],
    "pe": ["Perú", "República del Perú"],
    "ph": ["Philippines", "The Philippines", "Pilipinas", "Filipinas",
           "Republika ng Pilipinas", "Republic of the Philippines"],
    "pk": ["پاکستان", "Islamic Republic of Pakistan",
           "República Islâmica do Paquistão"],
    "pl": ["Polska", "Rzeczpospolita Polska"],
    "pm": ["Saint Pierre and Miquelon", "St Pierre and Miquelon",
           "Saint-Pierre-et-Miquelon"],
    "pn": ["Pitcairn Islands", "Pitcairn"],
    "pr": ["Puerto Rico", "Porto Rico"],
    "ps": ["Palestine", "State of Palestine", "Palestinian Territories",
           "Palestinian Territory", "Occupied Palestinian Territory",
           "Palestinian Territory, Occupied", "Palestine, State of",
           "فلسطين", "West Bank and Gaza", "Gaza", "West Bank",
           "Palestinian Authority"],
    "pt": ["Portugal", "República Portuguesa"],
    "qa": ["قطر", "State of Qatar"],
    "re": ["Réunion", "Reunion", "La Réunion", "Reunion Island"],
    "ro": ["România", "Romania", "Rumania", "Roumania"],
    "rs": ["Србија", "Srbija", "Republic of Serbia"],
    "ru": ["Russia", "Russian Federation", "Россия", "Российская Федерация",
           "Rossiya", "Rossiia", "Rossija", "Rossiyskaya Federatsiya",
           "RF"],
    "sa": ["KSA", "K.S.A.", "Saudi", "Saudi Arabia", "Kingdom of Saudi Arabia",
           "السعودية", "المملكة العربية السعودية", "Al Saudia",
           "Al Mamlaka al Arabiya as Saudiya"],
    "sd": ["السودان", "As-Sudan"],
    "sg": ["Singapore", "Singapura", "新加坡", "சிங்கப்பூர்",
           "Republic of Singapore"],
    "sh": ["Saint Helena", "St Helena", "St. Helena", "Ascension",
           "Ascension Island", "Tristan da Cunha",
           "Saint Helena, Ascension and Tristan da Cunha"],
    "si": ["Slovenija", "Republika Slovenija"],
    "sj": ["Svalbard", "Svalbard and Jan Mayen", "Jan Mayen",
           "Svalbard & Jan Mayen Islands"],
    "sk": ["Slovensko", "Slovenská republika", "Slovak Republic"],
    "sm": ["San Marino", "Repubblica di San Marino"],
    "st": ["Sao Tome and Principe", "São Tomé and Príncipe",
           "São Tomé e Príncipe", "Sao Tome", "São Tomé"],
    "sv": ["El Salvador"],
    "sx": ["Sint Maarten", "Sint Maarten (Dutch part)", "Saint Maarten",
           "St Maarten", "St. Maarten", "Sint Maarten (Netherlands)"],
    "sy": ["Syria", "Syrian Arab Republic", "سوريا", "سورية", "Suriyah"],
    "sz": ["Swaziland", "Eswatini", "Kingdom of Eswatini", "eSwatini",
           "Kingdom of Swaziland", "Umbuso weSwatini"],
    "tc": ["Turks and Caicos", "Turks and Caicos Islands", "Turks & Caicos",
           "Turks Caicos"],
    "tf": ["French Southern Territories", "French Southern and Antarctic Lands",
           "TAAF", "Terres australes et antarctiques françaises"],
    "th": ["Thailand", "ประเทศไทย", "ไทย", "Prathet Thai", "Muang Thai",
           "Kingdom of Thailand", "Siam"],
    "tl": ["Timor-Leste", "East Timor", "Timor Leste", "Timor Lorosae",
           "Democratic Republic of Timor-Leste"],
    "tn": ["تونس", "Tunisie"],
    "tr": ["Türkiye", "Turkiye", "Turkey", "Republic of Turkey",
           "Türkiye Cumhuriyeti", "Turkei", "Türkei"],
    "tt": ["Trinidad and Tobago", "Trinidad", "Tobago", "Trinidad & Tobago"],
    "tw": ["Taiwan", "Taiwan, Province of China", "Taiwan (ROC)",
           "Republic of China", "Republic of China (Taiwan)",
           "Taiwan, Republic of China", "Chinese Taipei", "台灣", "臺灣",
           "台湾", "中華民國", "中华民国", "中華民國 (台灣)", "中国台湾",
           "中國台灣", "Taiwan R.O.C.", "Taiwan ROC", "Formosa"],
    "tz": ["Tanzania", "United Republic of Tanzania",
           "Tanzania, United Republic of", "Jamhuri ya Muungano wa Tanzania"],
    "ua": ["Україна", "Ukraina", "Ukrayina", "Ukraine", "The Ukraine"],
    "um": ["U.S. Minor Outlying Islands", "US Minor Outlying Islands",
           "United States Minor Outlying Islands"],
    "us": ["USA", "U.S.", "U.S.A.", "U. S.", "U. S. A.", "United States America", "United States", "United States of America",
           "America", "The United States", "The United States of America",
           "US of America", "U.S. of America", "Estados Unidos",
           "Estados Unidos de América", "EEUU", "EE.UU.", "EE. UU.",
           "Vereinigte Staaten", "Vereinigte Staaten von Amerika",
           "États-Unis", "États-Unis d'Amérique", "Stati Uniti",
           "Stati Uniti d'America", "Verenigde Staten",
           "Verenigde Staten van Amerika", "Amerika",
           "Amerika Serikat", "Amerika Birleşik Devletleri", "ABD",
           "美国", "美國", "アメリカ", "アメリカ合衆国", "米国", "미국",
           "США", "Соединённые Штаты Америки", "Соединенные Штаты",
           "الولايات المتحدة", "الولايات المتحدة الأمريكية",
           "संयुक्त राज्य अमेरिका", "अमेरिका"],
    "uy": ["República Oriental del Uruguay"],
    "uz": ["Oʻzbekiston", "O'zbekiston", "Ozbekiston", "Ўзбекистон"],
    "va": ["Vatican", "Vatican City", "Vatican City State", "Holy See",
           "Holy See (Vatican City State)", "Città del Vaticano",
           "Stato della Città del Vaticano", "Santa Sede", "Civitas Vaticana"],
    "vc": ["Saint Vincent and the Grenadines", "St Vincent and the Grenadines",
           "St. Vincent & the Grenadines", "Saint Vincent", "St Vincent",
           "St Vincent and Grenadines", "Saint Vincent and Grenadines"],
    "ve": ["Venezuela", "Bolivarian Republic of Venezuela",
           "República Bolivariana de Venezuela"],
    "vg": ["British Virgin Islands", "Virgin Islands, British", "BVI",
           "Virgin Islands (British)", "B.V.I.", "UK Virgin Islands"],
    "vi": ["US Virgin Islands", "U.S. Virgin Islands", "Virgin Islands, U.S.",
           "Virgin Islands (U.S.)", "Virgin Islands of the United States",
           "USVI", "United States Virgin Islands", "American Virgin Islands"],
    "vn": ["Vietnam", "Viet Nam", "Việt Nam", "Cộng hòa Xã hội chủ nghĩa Việt Nam",
           "Socialist Republic of Vietnam", "Socialist Republic of Viet Nam"],
    "wf": ["Wallis and Futuna", "Wallis et Futuna", "Wallis & Futuna Islands",
           "Wallis and Futuna Islands"],
    "ws": ["Samoa", "Independent State of Samoa", "Western Samoa"],
    "ye": ["اليمن", "Al Yaman"],
    "xk": ["Kosovo", "XK", "XKX", "Republic of Kosovo", "Kosova",
           "Republika e Kosovës", "Косово"],
    "za": ["South Africa", "RSA", "Republic of South Africa", "Suid-Afrika",
           "Mzansi", "Ningizimu Afrika", "uMzantsi Afrika"],
}

# Never emitted: names of more than one current country (any spelling; they
# are normalized below).
DROP = {
    # Republic of the Congo (cg) or Democratic Republic of the Congo (cd);
    # ISO's short name for cg is "Congo", but in CRM data it is as often cd.
    "congo", "kongo", "конго", "콩고", "コンゴ", "刚果", "剛果",
    # British (vg) or United States (vi) Virgin Islands.
    "virgin islands", "jungferninseln", "iles vierges", "islas virgenes",
    "ilhas virgens", "isole vergini", "maagdeneilanden",
    # Jersey (je) or Guernsey (gg).
    "channel islands",
    # Split between cw, sx and bq in 2010.
    "netherlands antilles", "antilles",
    # Former federations with several successor states.
    "yugoslavia", "czechoslovakia", "ussr", "soviet union",
    "serbia and montenegro",
    # Guinea (gn), Guinea-Bissau (gw), Equatorial Guinea (gq) and Papua New
    # Guinea (pg) all have their own names; bare "guinea" stays gn (ISO).
    # Sudan (sd) and South Sudan (ss): bare "sudan" stays sd (ISO).
    # Timor: island shared by tl and id.
    "timor",
}
DROP = {normal_form(raw) for raw in DROP}

HEADER = """\
# Country aliases of the cleanroom protocol: free-text CRM country values
# (Salesforce "Billing Country", HubSpot "Country/Region", ...) to ISO 3166-1
# alpha-2 codes.
#
# FORMAT. UTF-8, lines separated by LF. A line starting with "#" is a comment.
# Every other line is one alias: <alias> TAB <code>, where <alias> is already
# in normal form (below) and <code> is the lowercase alpha-2 code (two ASCII
# letters a-z). Each alias appears once and maps to exactly one code; lines
# are sorted by alias in Unicode code point order (= UTF-8 byte order). There
# are no blank lines. One code is not ISO 3166-1: "xk" (Kosovo), the
# user-assigned code used by the EU, CLDR and most CRMs.
#
# NORMALIZATION of a raw value (normative; cleanroom-core normalize::country
# and protocol-spec/reference/country.py implement it):
#  1. A value with no words after step 3 (empty, whitespace only, or only
#     punctuation such as "-" or "..") is rejected as "empty".
#  2. Unicode NFKC, then full default case folding (CaseFolding.txt statuses
#     C and F, as Python's str.casefold), then NFD, delete every code point
#     of General_Category M (combining marks), then NFC (which, with no marks
#     left, only recomposes Hangul syllables). So "Österreich" gives
#     "osterreich", "ＵＳＡ" gives "usa", "Straße" gives "strasse". Marks
#     include Indic vowel signs and the kana voicing marks: "भारत" gives
#     "भरत" and "ドイツ" gives "トイツ"; both sides apply the same rule.
#  3. Delete apostrophes (U+0027 ', U+2019 ’, U+2018 ‘, U+02BC ʼ, U+0060 `)
#     and periods (U+002E), so "U.S.A." gives "usa" and "Côte d'Ivoire" gives
#     "cote divoire". "&" is the word "and". Every other code point that is
#     not a letter or digit (General_Category L or N) separates words. Words
#     are joined by single spaces.
#  4. A leading word "the" is dropped when another word follows: "The
#     Netherlands" gives "netherlands"; "The" alone stays "the".
#  5. The result is looked up in this table; not found is rejected as
#     "unknown-country" (so are placeholders such as "unknown", "none",
#     "N/A" = "n a"; note "NA" and "N.A." give "na", Namibia's code).
#
# SOURCES (protocol-spec/data/make_countries.py documents how this file was
# made; this file, not the script, is the source of truth):
#  - ISO 3166-1 as shipped in pycountry {pycountry_version}: alpha-2, alpha-3,
#    short, common and official names of all 249 entries;
#  - hand-written English variants, abbreviations, historical names, endonyms
#    and transliterations;
#  - pycountry's translations of the ISO names: for all countries into
#    {translation_langs},
#    and for {own_count} countries into their own languages (own names only).
#
# JUDGMENT CALLS.
#  - "congo" (and its translations) is not an alias: it names cg (ISO's short
#    name) or cd equally often. Use "Congo-Brazzaville", "Republic of the
#    Congo" (cg) or "DRC", "DR Congo", "Congo-Kinshasa", "Zaire" (cd).
#  - "virgin islands" is not an alias (vg or vi); "channel islands" neither
#    (je or gg); nor "netherlands antilles" (cw, sx, bq), "yugoslavia",
#    "czechoslovakia", "ussr", "soviet union", "timor".
#  - "korea" is kr (South Korea), the convention of CRM data; North Korea is
#    "north korea", "dprk" and the like.
#  - England, Scotland, Wales, Northern Ireland, Great Britain, Britain, "uk"
#    (ISO's exceptionally reserved code) are gb. Holland is nl. America is us.
#  - "republic of china", "chinese taipei", "formosa" are tw; "prc",
#    "mainland china" are cn. Hong Kong and Macao (with or without "SAR",
#    "China") are hk and mo.
#  - "macedonia", "fyrom" are mk; "georgia" is ge (the country, not the US
#    state); "ireland" is ie while "northern ireland" is gb; "samoa" is ws
#    (American Samoa is "american samoa"); "saint martin" is mf and "sint
#    maarten" sx; "guinea" is gn; "sudan" is sd; "dominica" is dm and
#    "dominicana" is do; "micronesia" is fm.
#  - Historical names that name exactly one country today are aliases:
#    Burma, Swaziland, Zaire, Ceylon, Persia, Siam, Upper Volta, Kampuchea,
#    Western Samoa, Byelorussia, Moldavia.
#  - Every alpha-2 and alpha-3 code is an alias, also where it is a word:
#    "no" is Norway, "and" (and so a lone "&") is Andorra, "na" is Namibia.
#  - A translation is not used where it gives an alias another code than the
#    ISO and hand-written names or another translation do, nor where it was
#    found wrong on review (Amharic, Nepali). Not used: {dropped}.
#
# {count} aliases.
"""


def iso_names(c):
    names = [c.alpha_2, c.alpha_3, c.name]
    for attr in ("common_name", "official_name"):
        if hasattr(c, attr):
            names.append(getattr(c, attr))
    return names


def translator(lang):
    return gettext.translation("iso3166-1", pycountry.LOCALES_DIR, languages=[lang])


def main():
    table = {}  # alias -> code
    # Source 1 and 2: conflicts are errors.
    for c in pycountry.countries:
        code = c.alpha_2.lower()
        for raw in iso_names(c):
            if normal_form(raw) not in DROP:  # ISO's "Congo"
                add_firm(table, raw, code)
    for code, aliases in CURATED.items():
        for raw in aliases:
            add_firm(table, raw, code)
    # "St" for "Saint" (after step 3, "St." is "st").
    for alias, code in list(table.items()):
        words = alias.split(" ")
        if "saint" in words:
            add_firm(table, " ".join("st" if w == "saint" else w for w in words), code)

    # Source 3: translations; conflicts drop the translated alias.
    firm = dict(table)
    translated = {}  # alias -> set of codes
    langs_of = {}
    for c in pycountry.countries:
        code = c.alpha_2.lower()
        langs = list(TRANSLATION_LANGS) + OWN_LANGS.get(code, [])
        for lang in langs:
            t = translator(lang)
            for raw in iso_names(c)[2:]:
                alias = normal_form(t.gettext(raw))
                if not alias or alias in DROP:
                    continue
                translated.setdefault(alias, set()).add(code)
                langs_of.setdefault(alias, set()).add(lang)
    dropped = []
    for alias, codes in sorted(translated.items()):
        if alias in firm:
            if codes != {firm[alias]}:
                others = ", ".join(sorted(codes - {firm[alias]}))
                dropped.append(f'"{alias}" as {others} (it is {firm[alias]})')
            continue
        if len(codes) > 1:
            dropped.append(f'"{alias}" as {", ".join(sorted(codes))}')
            continue
        table[alias] = next(iter(codes))

    for alias in DROP:
        table.pop(alias, None)
    for alias in table:
        assert normal_form(alias) == alias, alias
        assert alias, alias

    lines = [f"{alias}\t{code}" for alias, code in sorted(table.items())]
    header = HEADER.format(
        pycountry_version=pycountry_version(),
        translation_langs=", ".join(TRANSLATION_LANGS),
        dropped="; ".join(dropped) or "none",
        own_count=len(OWN_LANGS),
        count=len(lines),
    )
    header = "\n".join(wrap_comment(line) for line in header.rstrip("\n").split("\n"))
    OUT.write_text(header + "\n" + "\n".join(lines) + "\n", encoding="utf-8")
    print(f"{len(lines)} aliases, {len(set(table.values()))} codes, dropped {dropped}",
          file=sys.stderr)


def add_firm(table, raw, code):
    alias = normal_form(raw)
    if not alias:
        raise SystemExit(f"{raw!r} normalizes to nothing")
    if alias in DROP:
        raise SystemExit(f"{raw!r} is in DROP but listed for {code}")
    old = table.setdefault(alias, code)
    if old != code:
        raise SystemExit(f"{raw!r} ({alias!r}) is both {old} and {code}")


def wrap_comment(line):
    """Wraps an over-long comment line at 78 columns, keeping its indent."""
    if len(line) <= 78:
        return line
    indent = "#    " if line.startswith("#  ") else "# "
    out, current = [], ""
    for word in line.split(" "):
        if current and len(current) + 1 + len(word) > 78:
            out.append(current)
            current = indent + word
        else:
            current = f"{current} {word}" if current else word
    out.append(current)
    return "\n".join(out)


def pycountry_version():
    from importlib.metadata import version

    return version("pycountry")


if __name__ == "__main__":
    main()
