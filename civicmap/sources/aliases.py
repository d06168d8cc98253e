"""Header aliases: every column name civicmap recognises, in one table.

A role (``lat``, ``lon``, ``name``, ``name_kana``, ``address``, ``category``)
is found by the first header that matches one of its names, compared after
NFKC, without spaces and in lower case (so ``緯　度``, ``ＬＡＴ`` and ``Lat``
all match ``lat``). The order within a role is the order of preference.

To teach civicmap a new publisher's header, add it to the right tuple here
(and a test with the real file): nothing else needs to change. The names come
from real files:

- 自治体標準オープンデータセット and 推奨データセット (名称, 所在地_連結表記, 緯度, 経度, …)
- 国土数値情報 attribute codes are not here: their meaning changes between versions
  (A27-16 names the school in ``A27_003``, A27-21 in ``A27_004``), so they are looked up
  in :data:`civicmap.sources._guess.KSJ_SCHEMAS` and checked against the values
- Linked-Data (RDF) column headers some cities publish: ``http://schema.org/name``,
  ``http://www.w3.org/2003/01/geo/wgs84_pos#lat`` / ``#long``, and the
  共通語彙基盤 (IMI) prefix ``ic:`` (``ic:住所``), also as a flattened path
  (``ic:住所_表記``, ``ic:名称/ic:表記``, ``ic:地理座標_緯度``) or a full IMI URI
- ArcGIS exports that prefix user fields with ``USER_`` (``USER_施設名称``)
- theme lists: ``要配慮者利用施設名称``, ``トイレ名``, ``保育園名``, ``病院名``,
  ``指定暑熱避難施設の名称`` (クーリングシェルター), ``公園名``, ``店舗名``, …
- English headers, typos included, as a real prefectural list has them: ``hospital_name``,
  ``latitude`` / ``longtitude``
"""

from __future__ import annotations

_GEO = "http://www.w3.org/2003/01/geo/wgs84_pos#"
_SCHEMA = "http://schema.org/"
_IMI = "http://imi.go.jp/ns/core/rdf#"

#: Role → header names, in order of preference.
ALIASES: dict[str, tuple[str, ...]] = {
    "lat": (
        "緯度", "北緯", "lat", "latitude", "y", "y座標", "緯度(10進)", "緯度(世界測地系)",
        f"{_GEO}lat", "geo:lat", f"{_SCHEMA}latitude", "schema:latitude", "ic:緯度",
        "USER_緯度", "ic:地理座標_緯度", "ic:地理座標/ic:緯度", f"{_IMI}緯度",
    ),
    "lon": (
        "経度", "東経", "lon", "lng", "long", "longitude", "x", "x座標", "経度(10進)",
        "経度(世界測地系)", f"{_GEO}long", "geo:long", f"{_SCHEMA}longitude",
        "schema:longitude", "ic:経度", "USER_経度", "ic:地理座標_経度", "ic:地理座標/ic:経度",
        f"{_IMI}経度",
        "longtitude",  # sic: the 北海道 医療機関名簿 (tests/data/opendata/hokkaido_hospital_list.csv)
    ),
    "name": (
        "名称", "施設名", "施設名称", "保育園名", "園名", "病院名", "施設・場所名",
        "指定緊急避難場所_名称", "避難所名", "避難場所名", "名前", "name", "title", "label",
        "タイトル", "表示名", f"{_SCHEMA}name", "schema:name", "ic:名称", "ic:表記",
        "http://www.w3.org/2000/01/rdf-schema#label", "rdfs:label", "USER_施設名称",
        "USER_名称", "USER_施設名", "要配慮者利用施設名称", "トイレ名", "hospital_name", "facility_name",
        # 焼津市 (tests/data/opendata/real/yaizu_*.csv) and other city lists
        "指定暑熱避難施設の名称", "公園名", "登録施設名", "店名", "店舗名", "水防倉庫名", "会場名",
        "農園名",
        # 福井市's LinkData tables (tests/data/opendata/real/fukui_fukuishieki_linkdata.csv)
        "駅名", "バス停名",
        # 神戸市 観光施設情報 (tests/data/opendata/real/kobe_tourism_od2707_trimmed.csv);
        # IMI paths flattened into one header (名称 > 表記)
        "スポット名", "ic:名称_表記", "ic:名称/ic:表記", f"{_IMI}名称",
    ),
    "name_kana": (
        "名称_カナ", "名称カナ", "施設名カナ", "ふりがな", "フリガナ", "よみがな", "name_kana",
        "カナ", "ic:カナ表記", "USER_フリガナ", "えきめい_かな",
    ),
    "name_en": ("名称_英字", "名称英字", "名称_英語", "施設名英字", "英語名称", "name_en", "name:en"),
    "address": (
        "所在地_連結表記", "住所", "所在地", "所在地住所", "address", "住所1", "addr",
        "所在地(住所)", "ic:住所", "ic:所在地", f"{_SCHEMA}address", "schema:address",
        "USER_住所", "USER_所在地", "住所（番地まで）",
        # IMI paths flattened into one header (住所 > 表記), as 神戸市 publishes them
        "ic:住所_表記", "ic:住所/ic:表記", f"{_IMI}住所",
    ),
    "category": (
        "施設種別", "種別", "サブジャンル1", "category", "カテゴリ", "カテゴリー", "分類", "type",
        "USER_種別", "メインジャンル名",
    ),
}  # fmt: skip

#: Disaster key (see :data:`civicmap.schema.DISASTER_TYPES`) → other headers that
#: name its flag column in real lists (short forms of the official names).
#: The English keys are 高松市's (tests/data/opendata/real/takamatsu_evacuation_space.xlsx,
#: typo ``tunami`` included); of its two flood columns ``flood_L2`` (想定最大規模, the
#: scenario 水防法 hazard maps use) is preferred to ``flood_L1`` (計画規模).
DISASTER_ALIASES: dict[str, tuple[str, ...]] = {
    "flood": ("洪水", "洪水対応", "水害", "flood", "flood_L2", "flood_L1"),
    "landslide": (
        "土砂", "土砂災害", "崖崩れ", "がけ崩れ", "土石流", "地滑り", "地すべり",
        "sedimentDisaster", "landslide",
    ),
    "storm_surge": ("高潮", "stormSurge", "storm_surge"),
    "earthquake": ("地震", "earthquake"),
    "tsunami": ("津波", "tsunami", "tunami"),
    "fire": ("大規模な火事", "大規模火災", "火災", "火事", "fire", "largeFire"),
    "inland_flood": ("内水", "内水氾濫", "inundation", "inlandFlood", "inland_flood"),
    "volcano": ("火山", "火山現象", "volcano"),
}  # fmt: skip
