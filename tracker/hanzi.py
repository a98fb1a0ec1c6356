"""Fold text for matching: Traditional Chinese characters to Simplified, full-width ASCII to ASCII.

The tagger folds both the taxonomy's Chinese terms and the article text with the same table, so a term
written in either script matches text in either script. The table covers the characters of the news
vocabulary the taxonomy uses (politics, the military, diplomacy, places) plus common function
characters; a character missing from it only stops a cross-script match (write both forms if so).

Every mapping is one character to one character, so offsets in folded text are offsets in the original.
"""

from __future__ import annotations

import re

# Pairs "Traditional Simplified", grouped loosely by theme. Written by hand for this project.
_PAIRS = """
國国 灣湾 臺台 峽峡 軍军 戰战 機机 艦舰 飛飞 彈弹 導导 級级 務务 東东 區区 華华 對对 話话 會会
談谈 議议 長长 關关 係系 與与 兩两 統统 獨独 歸归 陸陆 際际 報报 權权 問问 題题 聯联 約约 條条 擴扩
試试 驗验 減减 緩缓 協协 溝沟 熱热 線线 衛卫 隊队 練练 習习 實实 邏逻 貿贸 經经 濟济 產产 業业 鏈链
製制 單单 體体 設设 備备 輸输 夥伙 賓宾 韓韩 鄰邻 將将 領领 員员 屬属 島岛 嶼屿 黃黄 愛爱 爭争 護护
驅驱 轟轰 殲歼 擊击 達达 潛潜 鬥斗 過过 識识 別别 禦御 務务 態态 勢势 謀谋 規规 劃划 構构 築筑 離离
圍围 環环 脅胁 壓压 侵侵 犯犯 嚴严 厲厉 譴谴 責责 聲声 稱称 說说 記记 者者 訪访 問问 議议 總总 統统
屆届 選选 舉举 黨党 團团 執执 政政 親亲 綠绿 藍蓝 營营 傳传 達达 頭头 條条 億亿 萬万 間间 門门 們们
這这 個个 來来 時时 後后 為为 於于 從从 們们 點点 現现 發发 開开 進进 還还 將将 應应 該该 歲岁 號号
麼么 樣样 裡里 裏里 邊边 遠远 近近 當当 舊旧 歷历 史史 實实 際际 義义 務务 權权 據据 處处 雙双 邊边
參参 謀谋 諮咨 詢询 調调 查查 鬆松 緊紧 張张 擔担 憂忧 慮虑 應应 變变 動动 穩稳 確确 認认 證证 據据
學学 術术 觀观 點点 評评 論论 計计 畫画 圖图 貨货 幣币 價价 銷销 購购 買买 賣卖 費费 資资 損损 失失
禁禁 運运 轉转 讓让 許许 請请 諾诺 約约 簽签 署署 訂订 廢废 續续 斷断 絕绝 複复 復复 覆覆 厲厉 響响
導导 彈弹 飛飞 彈弹 頭头 殼壳 層层 載载 艙舱 艇艇 航航 艦舰 隻只 艘艘 輛辆 車车 砲炮 槍枪 鎗枪 劍剑
戰战 術术 略略 備备 戰战 陣阵 營营 監监 視视 偵侦 測测 雷雷 達达 衛卫 星星 網网 絡络 駭骇 電电 磁磁
訊讯 號号 頻频 碼码 氣气 層层 極极 聲声 速速 超超 滑滑 翔翔 軌轨 道道 彈弹 洲洲 際际 遠远 程程 準准
確确 擊击 毀毁 滅灭 災灾 難难 傷伤 亡亡 紀纪 錄录 審审 訊讯 獄狱 釋释 放放 貝贝 內内 閣阁 參参 眾众
議议 院院 憲宪 法法 廳厅 署署 處处 組组 織织 協协 會会 員员 與与 盟盟 邦邦 賴赖 蔡蔡 馬马 蕭萧 韓韩
習习 近近 緬缅 菲菲 紐纽 澳澳 奧奥 斯斯 汀汀 賀贺 錦锦 濤涛 劉刘 鄧邓 歐欧 羅罗 蘇苏 聯联 烏乌 剋克
羅罗 義义 麥麦 蘭兰 樂乐 爾尔 維维 納纳 諾诺 賽赛 莫莫 僅仅 盧卢 擬拟 顧顾 頓顿 龐庞 豐丰 碼码 濱滨
漁渔 礁礁 灘滩 沙沙 黃黄 巖岩 岩岩 仁仁 愛爱 禮礼 樂乐 業业 鄉乡 縣县 鎮镇 錫锡 廈厦 漢汉 語语 詞词
讀读 寫写 書书 筆笔 紙纸 畫画 藝艺 術术 劇剧 廣广 場场 廠厂 倉仓 庫库 礦矿 鋼钢 鐵铁 銅铜 鋁铝 鈾铀
稀稀 晶晶 體体 積积 電电 腦脑 軟软 硬硬 韌韧 設设 計计 晶晶 圓圆 創创 築筑 蓋盖 構构 權权 益益 債债
貸贷 銀银 錢钱 稅税 關关 稅税 額额 補补 貼贴 壟垄 斷断 擴扩 張张 縮缩 減减 漲涨 跌跌 價价 齊齐 濟济
衝冲 撞撞 擦擦 槍枪 鳴鸣 驅驱 離离 攔拦 截截 圍围 堵堵 撤撤 駐驻 紮扎 屯屯 進进 攻攻 襲袭 擾扰 騷骚
闖闯 險险 挑挑 釁衅 懲惩 戒戒 錨锚 泊泊 碼码 頭头 港港 灣湾 鷹鹰 鴿鸽 龍龙 鳳凤 鳥鸟 魚鱼 龜龟 豬猪
隨随 陳陈 鄭郑 謝谢 錢钱 孫孙 楊杨 趙赵 吳吴 許许 黃黄 何何 呂吕 莊庄 葉叶 鍾钟 賈贾 鄒邹 閻阎 韋韦
遼辽 寧宁 閩闽 滬沪 粵粤 雲云 貴贵 陝陕 蘇苏 嶺岭 滙汇 匯汇 總总 揮挥 階阶 銜衔 師师 團团 營营 連连
駕驾 駛驶 艙舱 帥帅 將将 尉尉 兵兵 衛卫 裝装 甲甲 彈弹 藥药 糧粮 資资 訓训 練练 演演 習习 務务 勤勤
聯联 絡络 熱热 線线 協协 調调 磋磋 商商 會会 晤晤 談谈 話话 訪访 問问 視视 頻频 通通 電电 賀贺 函函
陣阵 營营 擴扩 軍军 裁裁 軍军 核核 擴扩 散散 試试 爆爆 彈弹 頭头 庫库 存存 導导 彈弹 發发 射射 井井
飛飞 彈弹 愾忾 滯滞 態态 鐘钟 錶表 鏡镜 啟启 閉闭 闊阔 闡阐 韌韧 頒颁 頌颂 預预 領领 頻频 顯显 願愿
顯显 風风 颶飓 飄飘 館馆 餘余 饑饥 馭驭 驗验 驚惊 體体 髮发 鬧闹 鮮鲜 麗丽 黴霉 齡龄 齒齿 龐庞 龔龚
壘垒 壞坏 壯壮 夠够 夢梦 奪夺 奮奋 妝妆 婦妇 嬰婴 寬宽 寶宝 專专 尋寻 導导 層层 屍尸 巋岿 帶带 幫帮
幹干 廢废 彎弯 徑径 徵征 憑凭 懷怀 戀恋 戲戏 擁拥 擇择 擠挤 攜携 敵敌 斂敛 晝昼 暫暂 曆历 曉晓 機机
殺杀 氫氢 決决 況况 沒没 溫温 滅灭 漸渐 潰溃 灑洒 燈灯 爐炉 牽牵 犧牺 狀状 猶犹 獲获 環环 瓊琼 畢毕
療疗 盤盘 盧卢 碩硕 確确 禍祸 種种 穀谷 窮穷 競竞 筆笔 節节 範范 簡简 糾纠 紅红 純纯 細细 終终 結结
絕绝 給给 統统 絲丝 綁绑 維维 綜综 緒绪 編编 縱纵 總总 績绩 繁繁 織织 繩绳 罰罚 羅罗 聖圣 聞闻 職职
肅肃 脫脱 腳脚 膽胆 臉脸 臨临 興兴 舉举 艱艰 萬万 葉叶 著着 蘭兰 虛虚 號号 蟲虫 衛卫 補补 製制 複复
覺觉 觸触 計计 訂订 討讨 訓训 託托 記记 設设 許许 訴诉 診诊 詐诈 評评 試试 詩诗 誇夸 認认 誕诞 誠诚
誤误 請请 諒谅 調调 謊谎 講讲 譯译 護护 讚赞 豈岂 貢贡 貧贫 負负 財财 責责 敗败 販贩 貫贯 貿贸 賊贼
賠赔 賦赋 賭赌 賺赚 購购 贏赢 趕赶 軟软 較较 輔辅 輕轻 輩辈 輪轮 轄辖 辦办 遲迟 遷迁 選选 遺遗 郵邮
醫医 釋释 針针 鉤钩 銳锐 鋒锋 錯错 鍵键 鎖锁 鏈链 長长 門门 閃闪 閱阅 闆板 陰阴 隊队 階阶 隱隐 雜杂
雞鸡 難难 靈灵 韓韩 響响 頂顶 項项 順顺 須须 預预 頑顽 頓顿 頗颇 領领 頭头 題题 額额 類类 顧顾 飯饭
飾饰 養养 騎骑 驗验 鬥斗 魯鲁 鳥鸟 黨党 區区 協协 擴扩 喬乔 國国 華华 禱祷 佈布 併并 來来 侶侣 倆俩
倫伦 偉伟 側侧 偵侦 備备 傑杰 傘伞 債债 傾倾 僅仅 儀仪 億亿 優优 兒儿 內内 冊册 劉刘 勁劲 務务 勝胜
勞劳 勢势 勵励 匯汇 卻却 厭厌 厲厉 參参 吳吴 員员 啞哑 喚唤 嘆叹 嚇吓 嚴严 團团 園园 圍围 圖图 塊块
堅坚 報报 場场 塵尘 墊垫 墳坟 壓压 艱艰 盡尽 監监 實实 審审 寫写 將将 專专 對对 導导 屬属 歲岁 島岛
峽峡 巔巅 幣币 廣广 廳厅 張张 彈弹 彌弥 徹彻 態态 慶庆 憂忧 憲宪 應应 戰战 戶户 掃扫 掛挂 採采 換换
揚扬 損损 搖摇 搶抢 摯挚 撐撑 擊击 據据 擬拟 擴扩 攝摄 敘叙 數数 斬斩 時时 暢畅 曠旷 東东 條条 棄弃
楊杨 極极 槍枪 構构 標标 樞枢 樣样 樓楼 橋桥 機机 檔档 檢检 權权 歡欢 歐欧 殘残 毀毁 氣气 漁渔 滿满
潑泼 澤泽 濤涛 濱滨 灣湾 爺爷 爭争 獎奖 獨独 現现 瑪玛 產产 畫画 當当 疊叠 瘋疯 盜盗 盧卢 矚瞩 禮礼
稱称 穩稳 筆笔 籌筹 紀纪 約约 紙纸 紛纷 級级 線线 練练 組组 緊紧 網网 緣缘 縣县 繼继 續续 罷罢 聯联
聽听 腦脑 與与 艦舰 蒞莅 蔣蒋 藥药 蘇苏 處处 蝕蚀 衝冲 補补 裝装 見见 規规 視视 親亲 觀观 訊讯 詢询
該该 誌志 語语 說说 課课 談谈 論论 諜谍 謀谋 證证 識识 議议 讓让 變变 負负 貨货 質质 購购 賽赛 贊赞
趨趋 跡迹 踐践 車车 軌轨 軸轴 載载 輸输 轉转 辭辞 農农 這这 連连 週周 進进 遊游 運运 過过 達达 違违
遙遥 遞递 還还 邊边 鄧邓 鄭郑 醜丑 針针 鈕钮 銀银 鋪铺 錄录 鎮镇 鐘钟 閣阁 闖闯 關关 陣阵 陳陈 陸陆
險险 隻只 雙双 雖虽 離离 電电 霧雾 靜静 韋韦 頒颁 頻频 顆颗 風风 飛飞 飽饱 馬马 駐驻 驅驱 驗验 體体
鬆松 麥麦 黃黄 點点 齊齐 龍龙
"""


def _build() -> dict[int, str]:
    table: dict[int, str] = {}
    for pair in _PAIRS.split():
        trad, simp = pair[0], pair[1]
        if trad != simp:
            table[ord(trad)] = simp
    # Full-width ASCII (！ to ～) and the ideographic space, so "ＤＦ－１７" reads as "DF-17".
    for code in range(0xFF01, 0xFF5F):
        table[code] = chr(code - 0xFEE0)
    table[0x3000] = " "
    return table


FOLD = _build()


WIDTH = {code: char for code, char in FOLD.items() if char.isascii()}


# Every character fold changes is outside ASCII. str.translate with a dict runs in Python-level steps
# once the text holds any non-ASCII character (a curly quote will do): 5 µs for an English summary
# against 0.5 µs to find there is nothing to fold.
_FOLDABLE = re.compile("[" + "".join(re.escape(chr(code)) for code in FOLD) + "]")


def fold(text: str) -> str:
    """Traditional to Simplified and full-width to ASCII, one character for one."""
    if text.isascii() or not _FOLDABLE.search(text):
        return text
    return text.translate(FOLD)


def _variants_table() -> dict[str, str]:
    """Each character of the table -> all its forms (itself, its Simplified form, its Traditional forms)."""
    forms: dict[str, set[str]] = {}
    for code, simp in FOLD.items():
        trad = chr(code)
        if simp.isascii():
            continue
        group = forms.setdefault(simp, {simp}) | {trad}
        for char in group:
            forms[char] = group
    return {char: "".join(sorted(group)) for char, group in forms.items()}


_FORMS = _variants_table()


def variants(term: str, limit: int = 64) -> list[str]:
    """``term`` in every mix of Simplified and Traditional forms the table knows, folded form first.

    Matching every spelling of a term is cheaper than folding every article's text. Past ``limit``
    spellings, further characters keep only their Simplified form.
    """
    spellings = [""]
    for char in term:
        forms = _FORMS.get(char, char)
        if len(spellings) * len(forms) > limit:
            forms = fold(char)
        spellings = [s + f for s in spellings for f in forms]
    return list(dict.fromkeys([fold(term), *spellings]))
