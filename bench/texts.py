"""Word lists for synthetic articles: our own writing, invented for the benchmark.

An article belongs to a family: a topic of data/topics.toml, a "near" family (China, the US or Taiwan
in news the tagger must turn down: weather, markets, trade, sport) or a "general" one (no term at
all, like most of a news feed). Its title comes from one headline grammar shared by all families,

    {subject} {verb} {adjective} {noun} {prep} {place}     (and a few variants, see TITLES)

with the family's own subjects, nouns and places; its summary is a lead sentence of the family,
then filler sentences. Two properties matter for the figures besides length and language:

- the tagger sees a realistic mix: the lead (topics.toml's ``lead`` rules read the title and the
  first sentences) carries the terms of its family;
- story clustering sees a realistic mix: a title has seven to ten words, most of them drawn from
  lists of dozens to hundreds, so two unrelated titles rarely share half their words (clustering
  links titles that do). A story covered by several outlets reuses one set of values.
"""

from __future__ import annotations

from itertools import product

TITLES = [
    "{subject} {verb} {adjective} {noun} {prep} {place}, {person} says",
    "{subject} {verb} {n} {adjective} {noun} {prep} {place} {when}",
    "{place}: {subject} {verb} {adjective} {noun} after {adjective2} {noun2}",
    "{subject} {verb} {adjective} {noun} {prep} {place} as {person} {verb2} {noun2}",
]
ZH_TITLES = [
    "{zh_place}{zh_subject}{zh_verb}{zh_adj}{zh_noun} {zh_person}{zh_tail}",
    "{zh_person}：{zh_place}{zh_subject}{n}项{zh_adj}{zh_noun}{zh_verb}",
    "{zh_subject}{zh_verb}{zh_adj}{zh_noun} {zh_place}{zh_adj2}{zh_noun2}{zh_tail}",
]


# family -> subjects, verbs, nouns, preps, place list, leads. Leads may use any slot of the title.
EN: dict[str, dict[str, list[str] | str]] = {
    "taiwan": {
        "subject": ["Taiwan", "Taipei", "Taiwan's coast guard", "Taiwanese officials", "Taiwan's military",
                    "Taiwan's air force", "Taiwan's navy", "Taiwan's defence ministry", "Lai Ching-te",
                    "Taiwan's president", "Taiwan's premier", "Taiwanese lawmakers", "Taiwan's army",
                    "Taiwanese reservists", "Taiwan's marines", "Taiwan's security council"],
        "noun": ["warplanes", "warships", "aircraft", "drones", "vessels", "bombers", "fighter jets", "helicopters",
                 "destroyers", "frigates", "patrol boats", "balloons", "missile tests", "incursions", "sorties",
                 "flights", "landing craft", "surveillance ships", "carrier movements", "rocket launches"],
        "prep": ["near", "off", "around", "north of", "south of", "east of"],
        "place": "tw_place",
        "lead": ["Taiwan's defence ministry said {n2} Chinese military aircraft and {n3} ships were operating "
                 "{direction} of the island.",
                 "{subject} said Taiwan would keep strengthening its defences against Chinese military pressure.",
                 "Beijing claims Taiwan as its own territory and has stepped up military activity near {place}."],
    },
    "hypersonics": {
        "subject": ["China", "The Pentagon", "The US Army", "Russia", "The US Navy", "North Korea", "Japan",
                    "Australia", "Lockheed", "Raytheon", "The Air Force", "Beijing", "Moscow", "Auditors",
                    "Lawmakers", "Analysts"],
        "noun": ["glide vehicle", "missile", "cruise missile", "strike weapon", "interceptor", "warhead",
                 "scramjet", "test flight", "launcher", "booster", "programme", "prototype", "sensor",
                 "tracking satellite", "engine", "budget"],
        "prep": ["at", "from", "over", "near"],
        "place": "range",
        "lead": ["The hypersonic {noun} flew at more than five times the speed of sound, {source_said}.",
                 "Officials said the hypersonic weapon would enter service by {year}."],
    },
    "arms_control": {
        "subject": ["The Pentagon", "US intelligence", "Researchers", "Think tank", "The State Department",
                    "Washington", "The White House", "US envoy", "Russia", "Moscow", "The Kremlin", "Putin",
                    "UN chief", "Diplomats", "Arms experts", "Lawmakers"],
        "noun": ["warhead count", "arsenal", "missile silos", "treaty limits", "inspections", "test site",
                 "launch notices", "verification plan", "risk reduction", "doctrine", "stockpile", "arms talks",
                 "hotline proposal", "moratorium", "data exchange", "early warning"],
        "prep": ["at", "in", "before", "after"],
        "place": "ac_venue",
        "lead": ["China's nuclear arsenal is growing fast and now holds more than {n3} nuclear warheads, "
                 "{source_said}.",
                 "Washington wants Beijing to join arms control talks on its {noun}, {source_said}."],
    },
    "talks": {
        "subject": ["Hegseth", "Austin", "Blinken", "Rubio", "Wang Yi", "Dong Jun", "Sullivan", "Campbell",
                    "US envoy", "Chinese envoy", "US generals", "PLA generals", "Biden and Xi", "Trump and Xi",
                    "US diplomats", "Chinese diplomats"],
        "noun": ["talks", "hotline", "phone call", "video call", "meeting", "dialogue", "channel", "summit",
                 "consultations", "visit", "handshake", "sit-down", "agenda", "contacts", "exchange"],
        "prep": ["in", "at"],
        "place": "talk_city",
        "lead": ["{us_official} spoke with his Chinese counterpart about {talk_topic} and military channels, "
                 "{source_said}.",
                 "Biden and Xi met for {n}0 minutes and discussed Taiwan and military ties."],
    },
    "south_china_sea": {
        "subject": ["Manila", "Vietnam", "The Philippines", "Malaysia", "Hanoi", "Indonesia", "Brunei",
                    "The Chinese coast guard", "Maritime militia", "The Chinese navy", "Filipino fishermen",
                    "A US destroyer", "A British frigate", "An Australian warship", "Satellite images",
                    "Philippine coast guard"],
        "noun": ["blockade", "water cannon", "ramming", "resupply mission", "patrol", "standoff", "buoys",
                 "island building", "structures", "fishing ban", "survey ship", "boarding", "laser",
                 "collision", "barrier", "outpost"],
        "prep": ["near", "off", "at"],
        "place": "reef",
        "lead": ["The incident near {place} in the South China Sea lasted {n2} hours, {source_said}.",
                 "{subject} and China both claim {place} in the South China Sea."],
    },
    "exercises": {
        "subject": ["The PLA", "China's Eastern Theatre", "Japan and the US", "Australia and the US",
                    "South Korea", "The Philippines and Japan", "India", "The Liaoning carrier group",
                    "The Shandong carrier group", "USS Carl Vinson", "Japanese destroyers", "US Marines",
                    "Chinese bombers", "Allied navies", "PLA rocket force", "The US Seventh Fleet"],
        "noun": ["live-fire drills", "naval drills", "amphibious landings", "air combat training", "war games",
                 "blockade rehearsal", "missile firings", "patrols", "landing exercise", "gunnery practice",
                 "night exercise", "submarine hunt", "mine-laying", "convoy escort", "readiness patrol", "sorties",
                 "manoeuvres", "encirclement"],
        "prep": ["off", "near", "around"],
        "place": "pac_place",
        "lead": ["The military exercises in the {pac_sea} involved {n} warships and {n2} aircraft, {source_said}.",
                 "Chinese warships and aircraft took part in the drills {direction} of {place}, the PLA said."],
    },
    "sanctions": {
        "subject": ["The Commerce Department", "Washington", "The US", "The Treasury", "Beijing", "China",
                    "Huawei", "SMIC", "DJI", "Hikvision", "ZTE", "Chipmakers", "The EU", "Japan", "The Netherlands",
                    "Lawmakers"],
        "noun": ["export curbs", "blacklist", "entity listing", "chip rules", "countermeasures", "licence ban",
                 "investment ban", "tool restrictions", "waiver", "supply chain", "probe", "penalties",
                 "asset freeze", "visa bans", "tariff threat"],
        "prep": ["on", "for", "against", "over"],
        "place": "tech_item",
        "lead": ["The sanctions target Chinese {target_kind} accused of {sanction_reason}, {source_said}.",
                 "The new export controls restrict sales of {place} to China, {source_said}."],
    },
    "alliances": {
        "subject": ["Japan and the US", "Australia", "The Philippines", "South Korea", "India", "Vietnam",
                    "AUKUS partners", "Quad ministers", "Tokyo", "Canberra", "Manila", "Seoul", "The allies",
                    "NATO envoys", "Defence chiefs"],
        "noun": ["defence pact", "base deal", "security accord", "logistics pact", "training deal",
                 "submarine plan", "troop rotation", "port access", "joint patrols", "intelligence sharing",
                 "coast guard deal", "shipyard plan", "missile deal", "command upgrade"],
        "prep": ["in", "at", "for"],
        "place": "base_name",
        "lead": ["{ally} and the US agreed to deepen security cooperation amid concern over China, {source_said}.",
                 "The alliance with {ally} is central to US plans to deter China, {person} said."],
    },
    "near": {
        "subject": ["Typhoon {storm}", "China's exports", "China's imports", "US stocks", "Panda cubs",
                    "Chinese tourists", "Trade officials", "Taiwan's baseball team", "Soybean farmers", "TSMC",
                    "China's central bank", "US retailers", "Taiwan's chipmakers", "Beijing marathon",
                    "Chinese carmakers", "US airlines"],
        "noun": ["rainfall", "sales", "prices", "growth", "visitors", "flights", "tariffs", "shipments",
                 "profits", "debut", "record", "forecast", "orders", "demand", "crowds", "bookings"],
        "prep": ["in", "at", "for"],
        "place": "town",
        "lead": ["Forecasters in Taiwan said the typhoon brought {n}0 centimetres of rain to {tw_place}.",
                 "Economists in Beijing had expected {econ_note}.",
                 "Officials in Washington said the talks on {trade_good} and tariffs were useful.",
                 "Fans in {tw_place} celebrated late into the night."],
    },
    "general": {
        "subject": ["Council", "Scientists", "Researchers", "Police", "Firefighters", "Hospital", "Museum",
                    "Union", "Supermarket chain", "Airline", "Rail operator", "School board", "Farmers",
                    "Volunteers", "Festival organisers", "Energy firm", "Football club", "Mayor",
                    "University", "Zoo", "Bakery", "Theatre", "Library", "Court", "Charity"],
        "noun": ["budget", "tram line", "library", "cycle lanes", "park", "housing plan", "bridge", "orchid",
                 "footprints", "cave", "beetle", "coins", "meteorite", "stores", "jobs", "branches",
                 "concert", "premiere", "exhibition", "harvest", "marathon", "record", "strike", "pay deal",
                 "trial", "vaccine", "recycling scheme", "playground", "ferry route", "market hall",
                 "solar farm", "flood defences", "bus routes", "parking fees", "cup final"],
        "prep": ["in", "at", "near", "for"],
        "place": "town",
        "lead": ["{person} told reporters in {place} that {general_clause}.",
                 "The {general_subject} {general_verb} {general_object}, {source_said}.",
                 "Residents of {place} said {general_clause}."],
    },
}

ZH: dict[str, dict[str, list[str] | str]] = {
    "taiwan": {
        "zh_subject": ["国台办", "解放军", "东部战区", "外交部", "国防部", "台湾防务部门", "海峡两岸", "台军"],
        "zh_noun": ["军机活动", "海峡中线", "军售问题", "台独言论", "周边巡航", "军舰动态", "联合战备警巡",
            "海空兵力"],
        "lead": ["{zh_person}表示，坚决反对{zh_place}{zh_adj}台独分裂活动。",
            "台湾防务部门称，另有{n2}艘军舰在{zh_place}周边活动，解放军持续施压。"],
    },
    "south_china_sea": {
        "zh_subject": ["中国海警", "外交部", "南部战区", "菲律宾船只", "渔政部门", "海事局"],
        "zh_noun": ["执法巡查", "补给行动", "维权执法", "管制措施", "常态巡逻", "海域活动"],
        "lead": ["中国海警{zh_person}就南海{zh_reef}{zh_adj}事件发表谈话。"],
    },
    "exercises": {
        "zh_subject": ["东部战区", "南部战区", "辽宁舰编队", "山东舰编队", "海军", "火箭军"],
        "zh_noun": ["联合演习", "实弹演练", "远海训练", "战备警巡", "编队训练", "海空联训"],
        "lead": ["解放军东部战区在{zh_place}组织联合演习，{n}架次战机演练{zh_drill_focus}。"],
    },
    "talks": {
        "zh_subject": ["中美两军", "中美防长", "中美外长", "两国元首", "中美工作组"],
        "zh_noun": ["磋商", "视频通话", "会晤", "对话", "工作会谈", "热线沟通"],
        "lead": ["中美两军在{zh_place}就{zh_talk_topic}进行了{zh_adj}交流。"],
    },
    "sanctions": {
        "zh_subject": ["商务部", "外交部", "中方", "海关总署", "财政部", "工信部"],
        "zh_noun": ["反制措施", "实体清单", "出口管制", "制裁决定", "稀土管控", "调查", "处罚"],
        "lead": ["{zh_person}表示，中方对{n}家美国军工企业的制裁是对美方{zh_wrong}的回应。"],
    },
    "arms_control": {
        "zh_subject": ["外交部", "军控司", "国防部", "专家"],
        "zh_noun": ["核政策", "军控立场", "核态势", "防扩散"],
        "lead": ["{zh_place}专家{zh_person}表示，美国扩充核武库将损害全球战略稳定。"],
    },
    "hypersonics": {
        "zh_subject": ["美军", "美国陆军", "俄军"],
        "zh_noun": ["试射", "试验", "部署"],
        "lead": ["{zh_person}称，高超音速导弹{zh_test_reason}。"],
    },
    "alliances": {
        "zh_subject": ["美日菲", "美日韩", "美英澳"],
        "zh_noun": ["峰会", "外长会", "防务协议"],
        "lead": ["三国领导人在{zh_place}发表联合声明，强调美日同盟{zh_alliance_topic}。"],
    },
    "near": {
        "zh_subject": ["台风", "外贸", "消费市场", "中美经贸团队", "马拉松", "旅游市场"],
        "zh_noun": ["数据", "增长", "通话", "开跑", "预警", "客流"],
        "lead": ["{zh_place}气象部门发布{zh_alert}，{n}个站点出现{zh_adj}降雨。",
            "{zh_place}统计部门{zh_person}表示，{zh_econ_note}。"],
    },
    "general": {
        "zh_subject": ["地铁", "公园", "图书馆", "医院", "学校", "博物馆", "菜市场", "社区", "剧院", "体育馆",
            "高铁站", "农场", "机场", "动物园", "科技馆", "养老院", "幼儿园", "游泳馆", "夜市", "湿地公园",
            "美术馆", "书店"],
        "zh_noun": ["开通运营", "改造工程", "新馆开放", "免费开放", "举办活动", "完成扩建", "招聘启动",
            "票价调整", "夜间开放", "志愿服务"],
        "lead": ["{zh_place}{zh_person}表示，{zh_general_note}。",
            "{zh_place}居民{zh_person}表示，{zh_adj}{zh_general_note}。"],
    },
}

# Topics by how often the feeds write about them (relative weights).
TOPIC_WEIGHTS = {"taiwan": 30, "south_china_sea": 15, "exercises": 14, "talks": 12, "sanctions": 10,
                 "arms_control": 9, "alliances": 7, "hypersonics": 3}

FILLER_EN = ("{filler_subject} {filler_verb} {filler_object}.",
             "{filler_time}, {filler_subject} {filler_verb} {filler_object}.")
FILLER_ZH = ("{zh_place}{zh_filler_subject}{zh_person}{zh_filler_verb}，{zh_adj}{zh_filler_object}。",
             "{zh_filler_subject}{zh_filler_verb}，{zh_place}{n}项{zh_adj}{zh_noun}{zh_filler_object}。")

_FIRST = ["Elena", "Tomas", "Amara", "Lukas", "Priya", "Sofia", "Jonas", "Mei", "Kwame", "Ines", "Oskar", "Leila",
          "Rafael", "Hana", "Viktor", "Nadia", "Samuel", "Aiko", "Daniel", "Farah", "Mateo", "Greta", "Omar", "Lena",
          "Pavel", "Rosa", "Arjun", "Clara", "Tariq", "Yuki", "Bruno", "Alma", "Felix", "Irene", "Kofi", "Maren",
          "Nils", "Olga", "Ravi", "Selma"]
_LAST = ["Ruiz", "Berg", "Okafor", "Meier", "Nair", "Marin", "Holt", "Lindqvist", "Asante", "Duarte", "Nyberg",
         "Haddad", "Castro", "Novak", "Sato", "Brennan", "Kowalski", "Moreau", "Osei", "Petrov", "Quinn", "Rahman",
         "Silva", "Tanaka", "Vance", "Weber", "Young", "Zeller", "Abbott", "Fischer", "Gallo", "Hoffmann", "Ibsen",
         "Jansen", "Keller", "Lund", "Mendes", "Nowak", "Ortega", "Pires"]
_TOWN_START = ["Ash", "Bram", "Crest", "Dun", "Elm", "Fair", "Glen", "Hart", "Kings", "Lang", "Mar", "North", "Oak",
               "Pen", "Red", "Stan", "Thorn", "West", "Wind", "Brook", "Cal", "Hol", "Lin", "Sel", "Sand", "Mill",
               "Stone", "Wood"]
_TOWN_END = ["ford", "field", "ley", "ton", "wick", "bury", "mouth", "dale", "holm", "stead", "worth", "haven",
             "by", "combe"]
_TW_START = ["Lin", "Tan", "Hua", "Pei", "Chu", "Kuan", "Shan", "Ping", "Hsin", "Lu", "Feng", "Tung", "Yung", "Chia",
             "Nan", "Ta", "Kao", "Min", "Chang", "Wu"]
_TW_END = ["kou", "shui", "lien", "tou", "tung", "shan", "pu", "yuan", "chung", "hsi", "ying", "men"]
_REEF_NAME = ["Halvor", "Coral Gate", "Lantern", "Seabird", "Turtle", "Kestrel", "Amber", "Pelican", "Driftwood",
              "Cobalt", "Marlin", "Heron", "Juniper", "Sandpiper", "Moonstone", "Gannet", "Osprey", "Tern", "Pearl",
              "Quartz", "Second Thomas", "Scarborough", "Sabina", "Whitsun", "Mischief", "Fiery Cross", "Subi"]
_RANGE = ["White Sands", "Kwajalein", "Cape Canaveral", "Vandenberg", "Wallops", "Woomera", "Plesetsk", "Jiuquan",
          "Kapustin Yar", "Pacific range", "desert range", "Point Mugu", "Barking Sands", "Kodiak", "Tanegashima"]
_ZH_PLACE_START = ["青山", "白沙", "东湖", "南岭", "西港", "北塘", "金湾", "石门", "长乐", "平潭", "龙泉", "松江",
                   "凤凰", "桃源", "兴隆", "永安", "新城", "大营", "海丰", "云台", "红旗", "清河", "望江", "丰收"]
_ZH_PLACE_END = ["镇", "乡", "湾", "港", "新区", "街道", "岛", "村", "社区", "开发区"]
_ZH_SURNAME = ["王", "李", "张", "刘", "陈", "杨", "黄", "赵", "吴", "周", "徐", "孙", "马", "朱", "胡", "郭"]
_ZH_GIVEN = ["伟", "芳", "娜", "敏", "静", "磊", "洋", "勇", "艳", "杰", "涛", "明", "超", "霞", "平", "刚"]

WORDS: dict[str, list[str]] = {
    # generated: long lists, so unrelated titles rarely share them
    "person": [f"{a} {b}" for a, b in product(_FIRST, _LAST)],
    "town": [a + b for a, b in product(_TOWN_START, _TOWN_END)],
    "tw_place": [a + b for a, b in product(_TW_START, _TW_END)],
    "reef": [f"{a} {b}" for a, b in product(_REEF_NAME, ["Reef", "Shoal", "Cay", "Bank"])],
    "range": [f"{a} {b}" for a, b in product(_RANGE, ["test site", "range", "launch area"])],
    "zh_place": [a + b for a, b in product(_ZH_PLACE_START, _ZH_PLACE_END)],
    "zh_person": [f"{a}{b}{c}" for a, b, c in product(_ZH_SURNAME, _ZH_GIVEN, _ZH_GIVEN) if b != c],
    "year": [str(y) for y in range(2025, 2036)],
    "adjective": [
        "new", "major", "rare", "unusual", "large", "small", "first", "latest", "sudden", "fresh", "planned",
        "surprise", "rapid", "brief", "extended", "renewed", "expanded", "limited", "record", "delayed", "costly",
        "secret", "rival", "disputed", "joint", "early", "late", "overnight", "weekly", "annual", "two-day",
        "week-long", "long-awaited", "controversial", "historic", "modest", "bold", "tough", "quiet", "busy",
        "heavy", "light", "crucial", "final", "second", "third", "fourth", "unexpected", "routine", "urgent",
        "emergency", "temporary", "permanent", "phased", "scaled-back", "larger", "smaller", "faster", "slower",
        "cheaper", "revised", "updated", "stalled", "fragile", "tense", "calm", "repeated", "coordinated",
        "separate", "parallel", "broader", "narrow", "closer", "wider", "deeper", "regional", "local", "national",
        "northern", "southern", "eastern", "western", "coastal", "inland", "remote", "nearby", "rising",
        "falling", "growing", "shrinking", "unprecedented", "familiar", "promised", "rejected", "approved",
        "proposed", "blocked", "cancelled", "resumed",
    ],
    "verb": [
        "reports", "tracks", "warns of", "unveils", "plans", "backs", "rejects", "delays", "launches", "confirms",
        "denies", "questions", "welcomes", "condemns", "expands", "cuts", "halts", "resumes", "announces",
        "criticises", "defends", "reviews", "probes", "seeks", "eyes", "weighs", "signs", "agrees", "blocks",
        "approves", "postpones", "opens", "closes", "tests", "records", "spots", "finds", "maps", "hails",
        "protests", "pledges", "prepares", "extends", "scraps", "doubles", "trims", "boosts", "targets",
        "monitors", "orders", "unveils plan for", "calls for", "pushes", "slams",
    ],
    "direction": ["north", "south", "east", "west", "north-east", "south-east", "south-west", "north-west"],
    "when": ["on Sunday", "overnight", "for a third day", "this week", "on Monday", "before dawn", "again",
             "late on Friday", "on Tuesday", "at the weekend", "on Thursday", "on Wednesday", "on Saturday"],
    "source_said": ["officials said", "a spokesperson said", "local media reported", "according to a statement",
                    "people familiar with the matter said", "the ministry said", "sources said",
                    "a senior official said"],
    # places of the families
    "ac_venue": ["Geneva", "Vienna", "New York", "The Hague", "Helsinki", "Reykjavik", "Oslo", "Stockholm"],
    "talk_city": ["Singapore", "Jakarta", "Bangkok", "Vientiane", "Kuala Lumpur", "Geneva", "Vienna", "Lima",
                  "Hanoi", "Phnom Penh", "Bali", "Manila", "Seoul", "Tokyo", "San Francisco", "Beijing", "Washington",
                  "Rio de Janeiro"],
    "pac_place": ["Okinawa", "Guam", "Luzon", "Palawan", "Yonaguni", "Hokkaido", "Jeju", "Darwin", "Saipan",
                  "Kyushu", "Fujian", "Zhejiang", "Hainan", "Shandong", "Pingtan", "Miyako", "Batanes", "Tinian"],
    "base_name": ["Darwin", "Subic Bay", "Okinawa", "Tindal", "Cagayan", "Yokosuka", "Pyeongtaek", "Guam", "Sasebo",
                  "Misawa", "Iwakuni", "Stirling", "Palawan", "Clark"],
    "tech_item": ["advanced chips", "chipmaking tools", "AI processors", "design software", "lasers",
                  "memory chips", "lithography machines", "drone parts", "satellite components", "sensors"],
    # lead slots
    "us_official": ["Defense Secretary Lloyd Austin", "Defense Secretary Pete Hegseth",
                    "Secretary of State Antony Blinken", "Secretary of State Marco Rubio"],
    "talk_topic": ["military ties", "Taiwan", "the South China Sea", "nuclear risks", "Ukraine", "crisis hotlines",
                   "maritime safety", "drone incidents", "space debris", "AI weapons"],
    "pac_sea": ["Pacific", "Sea of Japan", "East China Sea", "western Pacific", "Yellow Sea", "Indo-Pacific"],
    "ally": ["Japan", "Australia", "the Philippines", "South Korea", "India", "Vietnam"],
    "target_kind": ["firms", "chipmakers", "drone makers", "research institutes", "shipbuilders", "suppliers"],
    "sanction_reason": ["Taiwan arms sales", "military links", "support for Russia", "missile work",
                        "cyber attacks", "surveillance technology"],
    "storm": ["Kalani", "Pemba", "Orlo", "Sefa", "Marun", "Tevita", "Ilani", "Roka", "Meru", "Asoni", "Belin",
              "Corva"],
    "econ_note": ["slower growth", "a sharper fall", "a rebound", "little change"],
    "trade_good": ["soybeans", "beef", "aircraft", "pork", "corn", "rare earths", "wheat"],
    "general_clause": ["the plan had been a long time coming", "the work would take two years",
                       "prices had risen sharply", "the roads were still closed", "the result was deserved",
                       "more help was needed", "the queue stretched round the block", "nobody had been hurt"],
    "general_subject": ["project", "council", "company", "team", "hospital", "museum", "union", "school"],
    "general_verb": ["expects", "plans", "announced", "welcomed", "rejected"],
    "general_object": ["further changes", "a review", "new funding", "a second phase", "more staff"],
    # fillers
    "filler_subject": ["Officials", "Analysts", "Critics", "Residents", "Diplomats", "Economists", "Observers",
                       "Local media", "Opposition lawmakers", "Business groups", "Aid workers", "Experts"],
    "filler_verb": ["said", "expected", "warned of", "welcomed", "questioned", "called for", "pointed to",
                    "did not rule out"],
    "filler_object": ["further details later this week", "a review of the decision", "more delays",
                      "a quick response", "the timing of the announcement", "higher costs", "a long process",
                      "closer scrutiny", "a change of course", "a vote next month", "better data",
                      "stronger rules", "wider consultation", "new figures on Friday", "a formal statement"],
    "filler_time": ["On Monday", "Earlier", "Last year", "In a statement", "Later", "Since then", "For now",
                    "In recent weeks", "At the same time", "Meanwhile"],
    # Chinese
    "zh_adj": ["新一轮", "首批", "大规模", "常态化", "阶段性", "专项", "年度", "系列", "重点", "临时", "全面", "紧急",
               "跨区域", "多部门", "首个", "第二批", "大型", "小型", "夜间", "周末", "春季", "秋季", "冬季", "夏季",
               "年内", "全天候", "分批", "试点", "升级版", "扩大"],
    "zh_verb": ["启动", "回应", "通报", "公布", "推进", "完成", "开展", "暂停", "恢复", "加强", "部署", "宣布",
                "发布", "调整", "关注", "批评", "欢迎", "拒绝"],
    "zh_tail": ["近日", "今天", "昨天", "本周", "周末", "最新消息", "引关注", "答记者问"],
    "zh_reef": ["黄岩岛", "仁爱礁", "仙宾礁", "南沙群岛", "西沙群岛", "铁线礁"],
    "zh_drill_focus": ["联合封控", "夺取综合制权", "对海突击", "联合侦察预警"],
    "zh_talk_topic": ["海上空中安全问题", "两军关系", "台湾问题", "危机管控"],
    "zh_wrong": ["错误做法", "对台军售", "无理打压", "单边制裁"],
    "zh_test_reason": ["推迟的原因是技术问题", "测试数据仍在分析", "项目预算超支"],
    "zh_alliance_topic": ["海上安全", "防务合作", "联合巡逻"],
    "zh_alert": ["红色预警", "橙色预警", "暴雨预警", "大风预警"],
    "zh_econ_note": ["经济运行总体平稳", "消费持续恢复", "外贸保持增长", "就业形势稳定"],
    "zh_general_note": ["将尽快公布更多细节", "工程预计明年完工", "市民反响积极", "将继续做好服务保障"],
    "zh_filler_subject": ["有关部门", "业内人士", "专家", "当地媒体", "相关负责人", "居民代表", "工作人员", "市民",
                          "研究人员", "分析人士"],
    "zh_filler_verb": ["表示", "认为", "指出", "透露", "介绍", "强调", "坦言", "预计"],
    "zh_filler_object": ["工作将继续推进", "情况仍在了解中", "举措在意料之中", "细节将尽快公布", "影响有待观察",
                         "进展总体顺利", "安排已经就绪", "方案正在完善", "效果逐步显现", "问题已经解决"],
}

OUTLET_FIRST = ["Harbor", "Meridian", "Pacific", "Northbound", "Lantern", "Summit", "Coastal", "Granite",
                "Evening", "Ridgeway", "Bluewater", "Crossroads", "Lighthouse", "Riverbend", "Highland",
                "Tidewater", "Keystone", "Silverline", "Westgate", "Sunrise"]
OUTLET_SECOND = ["Gazette", "Ledger", "Wire", "Post", "Review", "Courier", "Observer", "Times", "Dispatch",
                 "Herald", "Chronicle", "Signal", "Report", "Bulletin", "Journal"]
OUTLET_ZH_FIRST = ["东海", "南风", "西湖", "北辰", "长江", "珠江", "华夏", "天山", "海峡", "星河"]
OUTLET_ZH_SECOND = ["时报", "日报", "晚报", "快讯", "观察", "新闻网"]
