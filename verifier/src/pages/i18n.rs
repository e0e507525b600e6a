//! Every word the pages show, in both languages. Simplified Chinese is the default (the market is
//! China); English for everyone else. A page asks [`Lang::texts`] and never spells a sentence
//! itself.
//!
//! Each table of words is declared with [`words!`]: every key holds its Chinese and its English
//! side by side, and the macro writes the struct and its two tables (`ZH`, `EN`) from them.
//!
//! A missing translation does not build. A key with one language does not match [`words!`], and
//! every key is a field, of [`Texts`] or of one of its word tables ([`VerdictWords`],
//! [`StateWords`], [`ConflictWords`], [`EvidenceWords`], [`StepWords`]); and the words for the
//! registry's enums ([`Custody`], [`ConflictKind`], [`Step`]) come out of exhaustive `match`es, so
//! a new state, conflict kind or step is a compile error here until both languages have words for
//! it.
//!
//! Only what [`Verdict`](crate::verdict::Verdict) carries as strings is looked up by name: its
//! verdict code, its evidence kinds and its custody state ([`Texts::verdict`],
//! [`Texts::evidence_kind`], [`Texts::state`]). A name without words there is a bug, logged, and
//! the tests below enumerate every name `verdict.rs` and the registry can produce. HTTP statuses
//! share a few error pages' words ([`Texts::error`]); the tests check every status the service
//! documents.
//! documents.

use axum::http::{HeaderMap, header};
use registry::{ConflictKind, Custody, Step};

use crate::verdict::Severity;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Lang {
    Zh,
    En,
}

impl Lang {
    /// The `lang` attribute and `?lang=` value.
    pub fn code(self) -> &'static str {
        match self {
            Lang::Zh => "zh-CN",
            Lang::En => "en",
        }
    }

    /// The other language, for the switch.
    pub fn other(self) -> Lang {
        match self {
            Lang::Zh => Lang::En,
            Lang::En => Lang::Zh,
        }
    }

    pub fn texts(self) -> &'static Texts {
        match self {
            Lang::Zh => &ZH,
            Lang::En => &EN,
        }
    }

    fn parse(tag: &str) -> Option<Lang> {
        let tag = tag.trim().to_ascii_lowercase();
        if tag.starts_with("zh") {
            Some(Lang::Zh)
        } else if tag.starts_with("en") {
            Some(Lang::En)
        } else {
            None
        }
    }

    /// `?lang=` wins (the visible switch); then the first language of `Accept-Language` the pages
    /// speak (browsers list them by preference; `q=0` means "not this one"); then Chinese.
    pub fn choose(query: Option<&str>, headers: &HeaderMap) -> Lang {
        if let Some(lang) = query.and_then(Lang::parse) {
            return lang;
        }
        let accept = headers
            .get(header::ACCEPT_LANGUAGE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("");
        let mut ranked: Vec<(f32, usize, Lang)> = accept
            .split(',')
            .enumerate()
            .filter_map(|(i, item)| {
                let mut parts = item.split(';');
                let lang = Lang::parse(parts.next()?)?;
                let q = parts
                    .find_map(|p| p.trim().strip_prefix("q="))
                    .and_then(|q| q.trim().parse::<f32>().ok())
                    .unwrap_or(1.0);
                (q > 0.0).then_some((q, i, lang))
            })
            .collect();
        ranked.sort_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1)));
        ranked.first().map_or(Lang::Zh, |r| r.2)
    }
}

/// Declares a table of words with both languages key by key: `key { zh: ..., en: ... }` for a
/// `&'static str`, `key: Type { zh: ..., en: ... }` for another type (a nested table, a
/// headline). It writes the struct, with every key a public field, and its two tables as the
/// consts `ZH` and `EN`. A key with only one language does not match: a missing translation stays
/// a compile error, as a missing field does.
///
/// `pub struct Name by name -> Type { ... }` also writes `named`, the words of a key by its name,
/// for tables whose keys are the names a verdict carries as strings (all of one type): the name
/// looked up is the field's own, so the two cannot drift apart.
macro_rules! words {
    (
        $(#[$meta:meta])*
        pub struct $name:ident $(by name -> $named:ty)? {
            $(
                $(#[$key_meta:meta])*
                $key:ident $(: $ty:ty)? { zh: $zh:expr, en: $en:expr $(,)? }
            )*
        }
    ) => {
        $(#[$meta])*
        pub struct $name {
            $( $(#[$key_meta])* pub $key: words!(@type $($ty)?), )*
        }

        impl $name {
            /// Simplified Chinese.
            pub const ZH: $name = $name { $( $key: $zh, )* };
            /// English.
            pub const EN: $name = $name { $( $key: $en, )* };
        }

        words!(@named $name [$($named)?] $($key)*);
    };
    (@type) => { &'static str };
    (@type $ty:ty) => { $ty };
    (@named $name:ident [] $($key:ident)*) => {};
    (@named $name:ident [$named:ty] $($key:ident)*) => {
        impl $name {
            /// The words of the key called `name`, if there is one.
            fn named(&self, name: &str) -> Option<&$named> {
                match name {
                    $( stringify!($key) => Some(&self.$key), )*
                    _ => None,
                }
            }
        }
    };
}

pub(crate) use words;

/// A page's big sentence and what it means: a verdict's, or an error page's.
#[derive(Debug, PartialEq, Eq)]
pub struct Headline {
    pub headline: &'static str,
    pub meaning: &'static str,
}

words! {
    /// Every verdict of [`VERDICTS`](crate::verdict::VERDICTS) in words, one field each.
    pub struct VerdictWords by name -> Headline {
        genuine: Headline {
            zh: Headline {
                headline: "正品：这是经过认证的配件",
                meaning: "此配件由认证厂商生产并登记，没有发现任何问题。",
            },
            en: Headline {
                headline: "Genuine: this is a certified part",
                meaning: "A certified manufacturer made and registered this part, and nothing is recorded against it.",
            },
        }
        genuine_installed: Headline {
            zh: Headline {
                headline: "注意：这个正品配件已经装过车",
                meaning: "此配件是正品，但记录显示它已安装到一辆车上。如果有人把它当新件卖给您，请不要接受。",
            },
            en: Headline {
                headline: "Careful: this genuine part was already fitted to a car",
                meaning: "The part is genuine, but it is recorded as installed in a vehicle. If it is sold to you as new, do not accept it.",
            },
        }
        duplicate_suspected: Headline {
            zh: Headline {
                headline: "危险：疑似克隆标签",
                meaning: "这个码出现在同一个配件不可能同时出现的地方：它的标签已被复制，您手上的配件可能是假货。",
            },
            en: Headline {
                headline: "Danger: suspected cloned label",
                meaning: "This code was recorded in places one part cannot be at once: copies of its label are in circulation, and this part may be one of them.",
            },
        }
        copies_known: Headline {
            zh: Headline {
                headline: "危险：这个标签已被复制",
                meaning: "厂商调查后确认市面上有这个标签的复制品，只有一件配件是正品。如果有人把带这个码的配件卖给您，它是复制品；如果它装在您的车上，请在下方核对您的车架号。",
            },
            en: Headline {
                headline: "Danger: this label has been copied",
                meaning: "The manufacturer investigated and found copies of this label; only one part carrying it is genuine. If a part with this code is sold to you, it is a copy. If it is fitted to your car, check your VIN below.",
            },
        }
        scan_anomaly: Headline {
            zh: Headline {
                headline: "警告：这个码被异常多次扫描",
                meaning: "登记记录是正品，但这个码在很多不同地方被扫描过，可能存在标签的复制品。",
            },
            en: Headline {
                headline: "Warning: this code was scanned unusually often",
                meaning: "The part is genuine as registered, but its code was scanned in unusually many places, which can mean copies of its label exist.",
            },
        }
        recalled: Headline {
            zh: Headline {
                headline: "危险：此配件已被召回",
                meaning: "厂商已召回此配件或其批次。请不要安装，退回给卖家。",
            },
            en: Headline {
                headline: "Danger: this part is recalled",
                meaning: "The manufacturer recalled this part or its lot. Do not fit it; return it to the seller.",
            },
        }
        voided: Headline {
            zh: Headline {
                headline: "危险：此码已被厂商作废",
                meaning: "厂商已作废这个码，没有任何正品配件带有它。",
            },
            en: Headline {
                headline: "Danger: the manufacturer voided this code",
                meaning: "The manufacturer voided this code: no genuine part carries it.",
            },
        }
        destroyed: Headline {
            zh: Headline {
                headline: "危险：此配件已登记为销毁",
                meaning: "带有这个码的配件已被销毁。现在带有它的配件使用的是复制的标签。",
            },
            en: Headline {
                headline: "Danger: this part was recorded destroyed",
                meaning: "The part with this code was destroyed. A part carrying it now has a copied label.",
            },
        }
        issuer_revoked: Headline {
            zh: Headline {
                headline: "危险：厂商的签名密钥已被吊销",
                meaning: "厂商报告其签名密钥被盗，用它签发的标签不能再证明配件是正品。",
            },
            en: Headline {
                headline: "Danger: the manufacturer's key was revoked",
                meaning: "The manufacturer reported its signing key stolen, so labels signed with it can no longer prove a part genuine.",
            },
        }
        forged: Headline {
            zh: Headline {
                headline: "危险：伪造的标签",
                meaning: "这个标签不是由任何认证厂商签发的，或签名与码不符。请把配件当作假货。",
            },
            en: Headline {
                headline: "Danger: forged label",
                meaning: "No certified manufacturer signed this label, or its signature does not match its code. Treat the part as counterfeit.",
            },
        }
        unregistered: Headline {
            zh: Headline {
                headline: "警告：此配件未登记",
                meaning: "没有找到已登记的配件。可能是尚未登记的新货，也可能是厂商记录之外印制的标签。",
            },
            en: Headline {
                headline: "Warning: this part is not registered",
                meaning: "No registered part matches. It may be new stock not yet registered, or a label printed outside the manufacturer's records.",
            },
        }
        registered_numbers: Headline {
            zh: Headline {
                headline: "号码已登记，但标签未经核验",
                meaning: "这组号码属于一个已登记的配件，但标签本身没有被核验：号码可以从照片抄来。请扫描标签上的二维码，或核对标签上印的号码。",
            },
            en: Headline {
                headline: "Numbers registered; the label itself was not checked",
                meaning: "These numbers belong to a registered part, but numbers can be copied from a photo, so the label itself was not checked. Scan its QR code, or compare the numbers printed on it.",
            },
        }
        data_error: Headline {
            zh: Headline {
                headline: "无法读取这个码",
                meaning: "请重新扫描，或核对您输入的号码与标签是否一致。读错码不代表配件是假的。",
            },
            en: Headline {
                headline: "This code could not be read",
                meaning: "Scan again, or compare what you typed with the label. A misread code does not mean the part is fake.",
            },
        }
    }
}

words! {
    /// Where the part is ([`Custody`]), in words.
    pub struct StateWords by name -> &'static str {
        at_manufacturer { zh: "在厂商处",
                          en: "At the manufacturer" }
        held { zh: "已被经销商或修理厂收货",
               en: "Received by a distributor or shop" }
        in_transit { zh: "运输中",
                     en: "In transit" }
        installed { zh: "已安装到车辆",
                    en: "Installed in a vehicle" }
        destroyed { zh: "已销毁",
                    en: "Destroyed" }
        voided { zh: "已作废",
                 en: "Voided" }
    }
}

impl StateWords {
    pub fn of(&self, custody: &Custody) -> &'static str {
        match custody {
            Custody::AtManufacturer => self.at_manufacturer,
            Custody::Held { .. } => self.held,
            Custody::InTransit { .. } => self.in_transit,
            Custody::Installed { .. } => self.installed,
            Custody::Destroyed => self.destroyed,
            Custody::Voided => self.voided,
        }
    }
}

words! {
    /// Each kind of conflict the registry records ([`ConflictKind`]) in words. Its tables `ZH` and
    /// `EN` are the short labels; [`ExplanationWords`] holds what each means.
    pub struct ConflictWords {
        installed_in_another_vehicle { zh: "已装在一辆车上，又被装到另一辆车",
                                       en: "Installed in a second vehicle while in the first" }
        still_installed { zh: "已装车且未拆下，又被收货或发货",
                          en: "Received or shipped while installed in a vehicle" }
        after_destroyed { zh: "销毁后仍有记录",
                          en: "Recorded after it was destroyed" }
        after_voided { zh: "作废后仍有记录",
                       en: "Recorded after it was voided" }
        held_by_another_party { zh: "另一方持有时被别处记录，中间没有发货",
                                en: "Recorded by a party while another held it, with no shipment" }
        removed_but_not_installed { zh: "未装车却被拆下",
                                    en: "Removed while not installed" }
    }
}

impl ConflictWords {
    pub fn of(&self, kind: ConflictKind) -> &'static str {
        match kind {
            ConflictKind::InstalledInAnotherVehicle => self.installed_in_another_vehicle,
            ConflictKind::StillInstalled => self.still_installed,
            ConflictKind::AfterDestroyed => self.after_destroyed,
            ConflictKind::AfterVoided => self.after_voided,
            ConflictKind::HeldByAnother => self.held_by_another_party,
            ConflictKind::NotInstalled => self.removed_but_not_installed,
        }
    }
}

words! {
    /// Each kind of evidence against a code, as a short label: the registry's conflict kinds, and
    /// the flags a verdict lists beside them ([`FLAG_EVIDENCE`](crate::verdict::FLAG_EVIDENCE)).
    pub struct EvidenceWords {
        conflicts: ConflictWords { zh: ConflictWords::ZH,
                                   en: ConflictWords::EN }
        copies_known { zh: "厂商确认存在复制标签",
                       en: "The manufacturer found copies of this label" }
        scan_anomaly { zh: "异常多的扫描地点",
                       en: "Scanned from unusually many places" }
        recalled { zh: "厂商召回",
                   en: "Recalled by the manufacturer" }
        lot_recalled { zh: "批次召回",
                       en: "Lot recalled" }
    }
}

impl EvidenceWords {
    /// The words for an evidence kind as a verdict names it: a conflict kind's code or a flag's.
    fn named(&self, code: &str) -> Option<&'static str> {
        if let Some(kind) = ConflictKind::ALL.into_iter().find(|k| k.code() == code) {
            return Some(self.conflicts.of(kind));
        }
        Some(match code {
            "copies_known" => self.copies_known,
            "scan_anomaly" => self.scan_anomaly,
            "recalled" => self.recalled,
            "lot_recalled" => self.lot_recalled,
            _ => return None,
        })
    }
}

/// What each kind of evidence means, with `{at}` and `{since}` (dates) and, for `scan_anomaly`,
/// `{contexts}`, `{hours}` and `{threshold}`.
pub struct ExplanationWords {
    pub conflicts: ConflictWords,
    pub scan_anomaly: &'static str,
}

words! {
    /// Custody steps (GS1 CBV) in words. The investigation ([`super::case_text`]) says one of them
    /// its own way.
    pub struct StepWords {
        commissioning { zh: "登记",
                        en: "registered" }
        shipping { zh: "发货",
                   en: "shipped" }
        receiving { zh: "收货",
                    en: "received" }
        installing { zh: "装车",
                     en: "installed" }
        removing { zh: "拆下",
                   en: "removed" }
        decommissioning { zh: "作废",
                          en: "voided" }
        destroying { zh: "销毁",
                     en: "destroyed" }
        recalling { zh: "召回",
                    en: "recalled" }
        correcting { zh: "更正",
                     en: "corrected" }
        resolving { zh: "结案",
                    en: "resolved" }
    }
}

impl StepWords {
    pub fn of(&self, step: Step) -> &'static str {
        match step {
            Step::Commissioning => self.commissioning,
            Step::Shipping => self.shipping,
            Step::Receiving => self.receiving,
            Step::Installing => self.installing,
            Step::Removing => self.removing,
            Step::Decommissioning => self.decommissioning,
            Step::Destroying => self.destroying,
            Step::Recalling => self.recalling,
            Step::Correcting => self.correcting,
            Step::Resolving => self.resolving,
        }
    }
}

words! {
    /// Every string the pages share; a page reads one language's table ([`Lang::texts`]).
    pub struct Texts {
        site { zh: "partseal 配件验真",
               en: "partseal part check" }
        switch_to { zh: "English",
                    en: "中文" }
        verdicts: VerdictWords { zh: VerdictWords::ZH,
                                 en: VerdictWords::EN }
        severity_ok { zh: "正品",
                      en: "Genuine" }
        severity_info { zh: "提示",
                        en: "Note" }
        severity_warning { zh: "警告",
                           en: "Warning" }
        severity_danger { zh: "危险",
                          en: "Danger" }
        what_to_do { zh: "怎么办",
                     en: "What to do" }
        advice_danger { zh: "不要接受或安装这个配件。保留配件和包装，向卖家（修理厂）索要包装和来源，并在下方举报。",
                        en: "Do not accept or fit this part. Keep it and its packaging, ask the shop for the packaging and where the part came from, and report it below." }
        advice_warning { zh: "请小心：接受之前先向卖家询问这个配件；如果回答不能让您信服，请在下方举报。",
                         en: "Be careful: ask the seller about this part before you accept it, and report it below if the answer does not convince you." }
        typed_note { zh: "这是手动输入的号码：标签上的签名没有被检查。",
                     en: "Typed numbers: the label's signature was not checked." }
        part { zh: "配件",
               en: "Part" }
        gtin { zh: "商品条码 (GTIN)",
               en: "GTIN" }
        lot { zh: "批号",
              en: "Lot" }
        serial { zh: "序列号",
                 en: "Serial" }
        manufacturer { zh: "厂商",
                       en: "Manufacturer" }
        legal_name { zh: "企业名称",
                     en: "Legal name" }
        certification { zh: "认证",
                        en: "Certification" }
        certified { zh: "✔ 已认证",
                    en: "✔ Certified" }
        not_certified { zh: "✖ 认证无效",
                        en: "✖ Not certified now" }
        valid_until { zh: "证书有效期至",
                      en: "Certificate valid until" }
        custody { zh: "流转记录",
                  en: "Custody" }
        custody_state { zh: "当前状态",
                        en: "Now" }
        since { zh: "自",
                en: "since" }
        unmoved { zh: "出厂后没有任何流转记录",
                  en: "No movement recorded since it was made" }
        registered_on { zh: "登记于",
                        en: "registered" }
        states: StateWords { zh: StateWords::ZH,
                             en: StateWords::EN }
        evidence { zh: "证据",
                   en: "Evidence" }
        evidence_kinds: EvidenceWords { zh: EvidenceWords::ZH,
                                        en: EvidenceWords::EN }
        /// `None` where the registry's own (English) words are the language's.
        evidence_explanations: Option<ExplanationWords> {
            zh: Some(ExplanationWords {
                conflicts: ConflictWords {
                    installed_in_another_vehicle: "{at}，这个编码在装车时被扫描，但它自 {since} 起已装在另一辆车上。一个零件不可能同时装在两辆车上：其中一件带的是复制的标签。",
                    still_installed: "{at}，这个编码在企业之间流转时被扫描，但它自 {since} 起已装在一辆车上，且从未拆下。车外带这个标签的零件，标签是复制的。",
                    after_destroyed: "这个编码已于 {since} 登记为销毁，却在 {at} 又被扫描。现在带这个编码的零件，标签是复制的。",
                    after_voided: "厂商已于 {since} 作废这个编码，却在 {at} 又被扫描。正品零件不会带有作废的编码。",
                    held_by_another_party: "{at}，有企业登记了这个零件，但另一家企业自 {since} 起一直持有它，且从未发货。一个零件不可能同时在两处：其中一件带的是复制的标签。",
                    removed_but_not_installed: "{at}，有企业登记从车上拆下这个零件，但它并未登记在任何车上（当前状态自 {since} 起）。只有持有者能变更零件状态：这次尝试已记录供厂商查看。",
                },
                scan_anomaly: "这个编码在 {hours} 小时内被 {contexts} 个不同的网络扫描（按它登记所在之处，警报阈值为 {threshold}）。一个零件很少在这么多地方被扫描：市面上可能有它的复制标签。仅凭扫描不能证明复制；厂商已收到警报。",
            }),
            en: None,
        }
        report_heading { zh: "举报可疑配件",
                         en: "Report a suspect part" }
        report_text { zh: "哪里不对？（必填）",
                      en: "What is wrong? (required)" }
        report_contact { zh: "联系方式（选填，仅厂商可见）",
                         en: "How to reach you (optional, only the manufacturer sees it)" }
        report_send { zh: "发送举报",
                      en: "Send the report" }
        report_thanks { zh: "谢谢！您的举报已发送给这个配件的厂商。",
                        en: "Thank you! Your report was sent to this part's manufacturer." }
        /// Before the headline of the verdict the reporter saw.
        report_seen { zh: "本次查验的结果：",
                      en: "What this check said: " }
        /// The vehicle check's answer when the part recorded in the vehicle was found a copy.
        vehicle_counterfeit { zh: "您车上以这个编码登记的零件，经厂商调查确认是假货（带复制标签）。请联系为您安装的修理厂或厂商。",
                              en: "The part recorded under this code in your vehicle was found counterfeit by its manufacturer (a copied label). Contact the shop that fitted it, or the manufacturer." }
        /// `{minutes}`: when the next report is taken.
        report_too_many { zh: "您刚才已经发送了多份举报。请在 {minutes} 分钟后再试。",
                          en: "You have sent several reports just now. Please try again in {minutes} minutes." }
        report_failed { zh: "无法发送举报：",
                        en: "The report could not be sent: " }
        vehicle_heading { zh: "这个配件登记在我的车上吗？",
                          en: "Is this part recorded in my vehicle?" }
        vin { zh: "车辆识别代号 (VIN)",
              en: "Vehicle identification number (VIN)" }
        vin_hint { zh: "17 位，在行驶证或挡风玻璃左下角",
                   en: "17 characters, on the registration or the windscreen" }
        vehicle_send { zh: "查询",
                       en: "Check" }
        /// `{date}`: when it was fitted; `{shop}`: the shop that recorded it.
        vehicle_yes { zh: "是：这个配件于 {date} 由{shop}登记安装在这辆车上。就登记记录而言，您车上的这件就是正品；本页的警告针对的是这个标签的其他复制品，或提醒被当作新件出售时不要购买。",
                      en: "Yes: recorded as installed in this vehicle on {date} by {shop}. As far as the registry knows, the one in your car is the genuine part: the warning on the label's page is about another copy of its label, or for a buyer offered it as new." }
        /// Above the VIN form, where the verdict is about a part already in a car.
        vehicle_first { zh: "这个配件装在您的车上吗？请输入您的车辆识别代号 (VIN)，查看它是否就是登记在您车上的那一件。",
                        en: "Is this part in your car? Enter your VIN to see whether it is the one recorded in your vehicle." }
        vehicle_no { zh: "否：这个配件没有登记为安装在这辆车上。",
                     en: "No: this part is not recorded as installed in this vehicle." }
        bad_vin { zh: "VIN 无效：",
                  en: "Not a valid VIN: " }
        lookup_heading { zh: "扫码失败？手动输入号码",
                         en: "Camera failed? Type the numbers" }
        lookup_send { zh: "查询",
                      en: "Check" }
        /// Where the typed numbers are on a label.
        lookup_where { zh: "号码印在标签上二维码的旁边：(01) 开头的一行是商品条码，(21) 开头的一行是序列号。",
                       en: "The numbers are printed beside the QR code on the label: the line starting (01) is the GTIN, the line starting (21) the serial." }
        /// A typed lookup that cannot be made: the heading, and each problem, with `{ch}`, `{n}` or
        /// `{digit}` where the problem has one.
        typed_heading { zh: "请核对输入的号码",
                        en: "Check the numbers you typed" }
        typed_gtin_empty { zh: "请输入商品条码 (GTIN)。",
                           en: "Type the GTIN." }
        typed_gtin_char { zh: "商品条码只能是数字：“{ch}”不是数字。",
                          en: "The GTIN has only digits: \u{201c}{ch}\u{201d} is not one." }
        typed_gtin_length { zh: "商品条码应为 8、12、13 或 14 位数字，您输入了 {n} 位。",
                            en: "The GTIN has 8, 12, 13 or 14 digits; you typed {n}." }
        typed_gtin_check { zh: "商品条码的校验位不对：最后一位应该是 {digit}。请逐位核对。",
                           en: "The GTIN's check digit is wrong: the last digit should be {digit}. Compare each digit with the label." }
        typed_serial_empty { zh: "请输入序列号。",
                             en: "Type the serial." }
        typed_serial_char { zh: "序列号不能包含“{ch}”。",
                            en: "The serial cannot contain \u{201c}{ch}\u{201d}." }
        typed_serial_long { zh: "序列号最多 20 个字符，您输入了 {n} 个。",
                            en: "The serial has at most 20 characters; you typed {n}." }
        // The landing page, a product (a GTIN without a serial) and the error pages.
        home_heading { zh: "汽车配件验真",
                       en: "Is this car part genuine?" }
        home_intro { zh: "partseal 帮您查验汽车配件是否为正品：每个配件的标签上都有厂商签名的二维码，验证结果来自厂商登记和配件的流转记录。",
                     en: "partseal checks car parts against counterfeits: each part's label carries a QR code signed by its manufacturer, and the answer comes from the manufacturer's registration and the part's custody records." }
        home_scan { zh: "用手机相机扫描配件标签上的二维码即可查看结果，无需安装应用或登录。",
                    en: "Scan the QR code on the part's label with your phone's camera to see the answer; no app or login needed." }
        home_link { zh: "首页",
                    en: "Home" }
        product_heading { zh: "这是一个产品的条码，不是某一个配件的码",
                          en: "This is a product's code, not one part's" }
        product { zh: "产品",
                  en: "Product" }
        product_scan_own { zh: "每个配件都有自己的码：请扫描配件本身标签上的二维码，或在下方输入标签上的序列号。",
                           en: "Each part has its own code: scan the QR code on the part's own label, or type the serial printed on it below." }
        product_unknown { zh: "没有认证厂商生产这个商品条码的产品：带有它的配件无法验真。请核对号码。",
                          en: "No certified manufacturer makes a product with this GTIN, so a part carrying it cannot be verified. Check the number." }
        product_bad_gtin { zh: "这个地址中的商品条码无效：",
                           en: "The GTIN in this address is not valid: " }
        error_not_found: Headline {
            zh: Headline {
                headline: "找不到这个页面",
                meaning: "这个地址没有页面。请重新扫描配件标签，或在下方输入标签上的号码。",
            },
            en: Headline {
                headline: "Page not found",
                meaning: "There is no page at this address. Scan the part's label again, or type its numbers below.",
            },
        }
        error_method: Headline {
            zh: Headline {
                headline: "无法这样打开这个页面",
                meaning: "这个地址不接受这种请求。请从首页重新开始。",
            },
            en: Headline {
                headline: "This page cannot be opened this way",
                meaning: "This address does not take that kind of request. Start again from the home page.",
            },
        }
        error_bad_request: Headline {
            zh: Headline {
                headline: "无法处理这个请求",
                meaning: "请求不完整或格式不对。请返回上一页重试。",
            },
            en: Headline {
                headline: "This request cannot be handled",
                meaning: "The request was incomplete or malformed. Go back and try again.",
            },
        }
        error_timeout: Headline {
            zh: Headline {
                headline: "请求超时",
                meaning: "您的网络发送请求太慢，连接已断开。请重试。",
            },
            en: Headline {
                headline: "The request timed out",
                meaning: "Your connection sent the request too slowly and was closed. Try again.",
            },
        }
        error_too_large: Headline {
            zh: Headline {
                headline: "内容太长",
                meaning: "您发送的内容超过了允许的长度。请缩短后重试。",
            },
            en: Headline {
                headline: "Too much text",
                meaning: "What you sent is longer than allowed. Shorten it and try again.",
            },
        }
        error_rate_limited: Headline {
            zh: Headline {
                headline: "查询太频繁",
                meaning: "您所在的网络在一分钟内查询次数过多（同一移动网络的手机常共用一个地址）。",
            },
            en: Headline {
                headline: "Too many checks",
                meaning: "Too many checks came from your network in the last minute (phones on one mobile network often share an address).",
            },
        }
        error_busy: Headline {
            zh: Headline {
                headline: "服务繁忙",
                meaning: "查询的人太多，服务暂时无法处理您的请求。",
            },
            en: Headline {
                headline: "The service is busy",
                meaning: "Too many people are checking at once; your request could not be handled now.",
            },
        }
        error_internal: Headline {
            zh: Headline {
                headline: "服务出错",
                meaning: "我们这边出了问题，已记录下来。请稍后重试。",
            },
            en: Headline {
                headline: "Something went wrong",
                meaning: "Something went wrong on our side and it has been logged. Try again later.",
            },
        }
        /// With `{secs}`.
        retry_in { zh: "请在 {secs} 秒后重试。",
                   en: "Try again in {secs} seconds." }
        back { zh: "返回",
               en: "Back" }
        // A change refused because the store cannot write (a full disk, a failing one).
        storage_full_heading { zh: "暂时无法保存",
                               en: "Cannot save right now" }
        storage_full_text { zh: "服务器磁盘已满，这次操作没有记录。查询仍然可用；管理员释放空间后会自动恢复，请稍后再试。",
                            en: "The server's disk is full, so this was not recorded. Checking parts still works; saving resumes by itself once an administrator frees space. Please try again later." }
        storage_unavailable_heading { zh: "暂时无法保存",
                                      en: "Cannot save right now" }
        storage_unavailable_text { zh: "服务器暂时无法写入存储，这次操作没有记录。查询仍然可用，请稍后再试。",
                                   en: "The server cannot write to its storage at the moment, so this was not recorded. Checking parts still works; please try again shortly." }
        // The shop's station.
        shop_title { zh: "修理厂扫码台",
                     en: "Shop scanning station" }
        sign_in { zh: "登录",
                  en: "Sign in" }
        token { zh: "API 令牌",
                en: "API token" }
        token_hint { zh: "以 pst_ 开头，由管理员发放",
                     en: "Starts with pst_, issued by your administrator" }
        sign_out { zh: "退出",
                   en: "Sign out" }
        signed_in_as { zh: "已登录：",
                       en: "Signed in as " }
        bad_token { zh: "令牌无效（未知、过期或已吊销）。",
                    en: "That token is not valid (unknown, expired or revoked)." }
        scan_label { zh: "扫描配件二维码",
                     en: "Scan a part's QR code" }
        scan_hint { zh: "用扫码枪扫描，或输入二维码内容后按回车",
                    en: "Scan with the handheld scanner, or type the QR content and press Enter" }
        scan_send { zh: "记录",
                    en: "Record" }
        mode { zh: "模式",
               en: "Mode" }
        mode_receive { zh: "收货",
                       en: "Receive" }
        mode_install { zh: "装车",
                       en: "Install" }
        mode_set { zh: "切换",
                   en: "Switch" }
        installing_into { zh: "正在装车：",
                          en: "Installing into " }
        receiving_banner { zh: "正在收货：每次扫描都记录为本店收到该配件。",
                           en: "Receiving: each scan records the part as received by you." }
        scans { zh: "本次扫描",
                en: "Scans this session" }
        no_scans { zh: "还没有扫描。",
                   en: "No scans yet." }
        row_pending { zh: "记录中…",
                      en: "Recording…" }
        row_received { zh: "✔ 已收货 · 正品",
                       en: "✔ Received · genuine" }
        row_installed { zh: "✔ 已装车 · 正品",
                        en: "✔ Installed · genuine" }
        row_repeated { zh: "✔ 之前已记录",
                       en: "✔ Already recorded" }
        row_conflict { zh: "✖ 冲突：疑似克隆标签，请把配件放到一边",
                       en: "✖ CONFLICT: suspected cloned label. Put this part aside" }
        row_flagged { zh: "✖ 已记录，但此码疑似克隆",
                      en: "✖ Recorded, but this code is a suspected clone" }
        row_recalled { zh: "✖ 已记录，但此配件已被召回",
                       en: "✖ Recorded, but this part is recalled" }
        row_forged { zh: "✖ 标签签名不符：可能伪造，未记录",
                     en: "✖ Signature does not match: possibly forged. Not recorded" }
        row_unregistered { zh: "⚠ 未登记的码，未记录",
                           en: "⚠ Not a registered code. Not recorded" }
        row_unreadable { zh: "ℹ 无法读取，请重新扫描",
                         en: "ℹ Could not read it: scan again" }
        row_refused { zh: "✖ 被拒绝：",
                      en: "✖ Refused: " }
        vehicle_record { zh: "车辆已装配件记录",
                         en: "Vehicle's installed parts" }
        vehicle_parts_none { zh: "没有登记在这辆车上的配件。",
                             en: "No parts are recorded in this vehicle." }
        installed_on { zh: "安装于",
                       en: "installed on" }
        show { zh: "查看",
               en: "Show" }
        wrong_role { zh: "此页面不适用于您的账户类型。",
                     en: "This page is not for your kind of account." }
        // The manufacturer's dashboard.
        dashboard_title { zh: "厂商看板",
                          en: "Manufacturer dashboard" }
        alerts { zh: "警报",
                 en: "Alerts" }
        no_alerts { zh: "没有待处理的警报。",
                    en: "No open alerts." }
        alert_state { zh: "处理状态",
                      en: "State" }
        state_new { zh: "新",
                    en: "New" }
        state_investigating { zh: "调查中",
                              en: "Investigating" }
        resolved_genuine { zh: "已结案：正品",
                           en: "Resolved: genuine" }
        resolved_counterfeit { zh: "已结案：假货",
                               en: "Resolved: counterfeit" }
        mark_investigating { zh: "标记为调查中",
                             en: "Mark investigating" }
        resolve_genuine { zh: "结案：正品",
                          en: "Resolve: genuine" }
        resolve_counterfeit { zh: "结案：假货",
                              en: "Resolve: counterfeit" }
        /// The counterfeit resolution's question, and its answers (`{vin}`: the VIN's last six
        /// characters; `{name}`: a party's name; `{date}`).
        genuine_copy { zh: "若结案为假货，哪一件是正品？",
                       en: "If counterfeit, which copy is genuine?" }
        copy_in_vehicle { zh: "车辆 …{vin} 中的零件（{date} 记录）",
                          en: "The part in vehicle …{vin} (recorded {date})" }
        copy_held_by { zh: "{name} 持有的零件（{date} 记录）",
                       en: "The part held by {name} (recorded {date})" }
        copy_unknown { zh: "不知道哪一件是正品",
                       en: "None is known to be genuine" }
        note { zh: "备注",
               en: "Note" }
        reports { zh: "公众举报",
                  en: "Public reports" }
        no_reports { zh: "没有举报。",
                     en: "No reports." }
        report_reference { zh: "举报编号",
                           en: "Reference" }
        report_code { zh: "配件码",
                      en: "Code" }
        report_forged_label { zh: "一张冒用此码的伪造标签",
                              en: "A forged label naming this code" }
        report_seen_verdict { zh: "举报人看到的结果",
                              en: "What the sender saw" }
        report_words { zh: "举报内容",
                       en: "What they wrote" }
        report_seen_unknown { zh: "（早期举报，未记录）",
                              en: "(an early report: not kept)" }
        report_your_reference { zh: "您的举报编号：",
                                en: "Your reference: " }
        /// Ends the sentence with the reference.
        report_reference_end { zh: "。",
                               en: "." }
        region { zh: "地区",
                 en: "Region" }
        unknown_region { zh: "未知",
                         en: "unknown" }
        contact { zh: "联系方式",
                  en: "Contact" }
        recently_resolved { zh: "最近结案",
                            en: "Recently resolved" }
        chart_days { zh: "每日验证次数（警报和被举报的码，近 14 天）",
                     en: "Verifications per day (alerted and reported codes, last 14 days)" }
        chart_regions { zh: "各地区的警报和举报",
                        en: "Alerts and reports per region" }
        chart_days_note { zh: "数据来自这些码的公众扫描统计。",
                          en: "From the public scan statistics of these codes." }
        scan_total { zh: "合计",
                     en: "total" }
        // The station's questions, undo and custody steps.
        /// A scan contradicting the shop's own record: `{vin}` (its last four) and `{date}`.
        ask_installed { zh: "⚠ 未记录：此配件是贵店 {date} 装到车辆 …{vin} 上的。要记录为已从该车拆下吗？",
                        en: "⚠ Not recorded: you installed this part in vehicle …{vin} on {date}. Record it as removed from that vehicle?" }
        ask_remove { zh: "记录为已拆下",
                     en: "Record removal" }
        ask_anyway { zh: "仍按此扫描记录",
                     en: "Record the scan anyway" }
        ask_cancel { zh: "取消",
                     en: "Cancel" }
        row_removed { zh: "✔ 已记录拆下",
                      en: "✔ Removal recorded" }
        row_cancelled { zh: "ℹ 已取消，未记录",
                        en: "ℹ Cancelled: nothing recorded" }
        undo { zh: "撤销",
               en: "Undo" }
        row_undone { zh: "↶ 已撤销：这次扫描的记录已作废",
                     en: "↶ Undone: this scan's record is withdrawn" }
        /// After [`Texts::row_undone`], once per later event of the shop's the undo changed.
        row_undone_also { zh: "；您之后依赖它的事件 #{seq}（{step}，{date}）也随之不再成立",
                          en: "; your later event #{seq} ({step}, {date}), which stood on it, no longer stands either" }
        /// A later scan's row whose event an undo above changed.
        row_changed_by_undo { zh: "⚠ 已随撤销改变：这次扫描所依赖的记录已撤销，它的记录不再成立",
                              en: "⚠ Changed by an undo: the scan this one stood on was undone, so its record no longer stands" }
        undo_refused { zh: "无法撤销：",
                       en: "Cannot undo: " }
        /// `{seq}`, `{step}` and `{date}` of the other party's event that depends on the undone
        /// one.
        undo_depends { zh: "无法撤销：之后另一方记录的事件 #{seq}（{step}，{date}）依赖于这次扫描。",
                       en: "Cannot undo: another party's later event #{seq} ({step}, {date}) depends on this scan." }
        undo_too_old { zh: "无法撤销：已超过更正期限。",
                       en: "Cannot undo: the correction window has closed." }
        /// Custody step names (GS1 CBV).
        steps: StepWords { zh: StepWords::ZH,
                           en: StepWords::EN }
        /// A VIN refused: `{n}` characters; `{pos}` and `{ch}` of a character no VIN has.
        vin_length { zh: "VIN 应有 17 位，这个有 {n} 位。",
                     en: "a VIN has 17 characters, this one has {n}." }
        vin_character { zh: "第 {pos} 位“{ch}”不能出现在 VIN 中（VIN 不用字母 I、O、Q）。",
                        en: "character {pos} (“{ch}”) cannot appear in a VIN (letters I, O and Q are never used)." }
        /// A VIN whose check digit does not verify: `{vin}`, `{found}` and `{expected}`.
        vin_unverified { zh: "VIN {vin} 的第 9 位是“{found}”，按其他各位算应为“{expected}”。可能是输入错误，也可能这辆车的 VIN 没有校验位（许多进口欧洲车如此）。请与行驶证核对。",
                         en: "Character 9 of VIN {vin} is “{found}” but the other characters give “{expected}”. It may be mistyped, or the vehicle may carry a VIN without a check digit (many imported European vehicles do). Compare it with the registration certificate." }
        vin_confirm { zh: "与行驶证一致，装到这辆车",
                      en: "It matches the registration certificate: install into it" }
        vin_correct { zh: "改正 VIN",
                      en: "Correct the VIN" }
        vin_confirmed_note { zh: "（已与行驶证核对）",
                             en: " (confirmed against the registration certificate)" }
        // Recalls.
        recall_reason { zh: "召回原因：",
                        en: "Recall reason: " }
        advice_recalled { zh: "不要安装此配件。请联系卖家或维修店更换。",
                          en: "Do not fit this part. Contact the seller or the shop about a replacement." }
        /// An install refused for a recall: `{reason}`.
        row_recall_refused { zh: "✖ 未装车：此配件已被召回（{reason}）。请勿安装，除非您确定要这样做。",
                             en: "✖ Not installed: this part is recalled ({reason}). Do not fit it unless you are sure." }
        install_anyway { zh: "仍然安装（记录为已知召回）",
                         en: "Install anyway (recorded as a known recall)" }
        row_installed_override { zh: "⚠ 已装车，召回已知并已记录",
                                 en: "⚠ Installed with the recall known; the override is recorded" }
        flagged_recalled { zh: "已召回：",
                           en: "Recalled: " }
        flagged_duplicate { zh: "疑似克隆标签",
                            en: "Suspected cloned label" }
        flagged_copies { zh: "已知此标签有仿制品",
                         en: "Copies of this label are known" }
        // The station's camera scanning.
        camera_start { zh: "用相机扫码",
                       en: "Scan with camera" }
        camera_stop { zh: "关闭相机",
                      en: "Stop camera" }
        camera_starting { zh: "正在打开相机……",
                          en: "Opening the camera…" }
        camera_aim { zh: "将配件或箱子标签上的二维码对准相机。",
                     en: "Point the camera at the QR code on the part's or the carton's label." }
        camera_read { zh: "✔ 已读取并记录：",
                      en: "✔ Read and sent: " }
        camera_denied { zh: "无法使用相机：没有获得相机权限。请在浏览器设置中允许本网站使用相机，或继续用扫码枪或键盘输入。",
                        en: "The camera cannot be used: permission was not given. Allow this site to use the camera in the browser's settings, or keep scanning with the scanner or typing." }
        camera_none { zh: "这台设备没有可用的相机。请用扫码枪扫描或输入号码。",
                      en: "This device has no camera available. Scan with the scanner or type the code." }
        camera_failed { zh: "相机无法打开，请用扫码枪扫描或输入号码。原因：",
                        en: "The camera could not be opened; scan with the scanner or type the code. Cause: " }
        // The station receiving cartons and pallets.
        /// A carton's row: `{sscc}`, the `{n}` parts it holds, `{moved}` of them received.
        carton_received { zh: "✔ 箱 {sscc}：{n} 件配件已收货",
                          en: "✔ Carton {sscc}: {n} parts received" }
        carton_partly { zh: "⚠ 箱 {sscc}：{n} 件中 {moved} 件已收货，其余未移动，原因见下",
                        en: "⚠ Carton {sscc}: {moved} of {n} parts received; the others did not move (why is below)" }
        /// `{bad}`: the parts received that the shop must look at (a suspected clone, a recall).
        carton_attention { zh: "✖ 箱 {sscc}：{n} 件配件已收货，其中 {bad} 件需要处理，见下",
                           en: "✖ Carton {sscc}: {n} parts received; attention needed for {bad} (see below)" }
        carton_not_yours { zh: "⚠ 箱 {sscc} 不是发给本店的：每件配件都只记录为声明，没有移动",
                           en: "⚠ Carton {sscc} is not addressed to you: each part is recorded as a claim only; nothing moved" }
        carton_unknown { zh: "⚠ 未知的箱号 {sscc}：没有它的装箱记录，未记录",
                         en: "⚠ Unknown carton {sscc}: it has no packing record. Nothing recorded" }
        carton_nested { zh: "⚠ 箱 {sscc} 装在另一个箱或托盘里：请扫描外层的标签。未记录",
                        en: "⚠ Carton {sscc} is packed inside another carton or pallet: scan the outer label. Nothing recorded" }
        carton_refused { zh: "✖ 箱 {sscc} 被拒绝，未记录：",
                         en: "✖ Carton {sscc} refused, nothing recorded: " }
        carton_install { zh: "✖ 箱子不能装车：请开箱，扫描配件本身。未记录",
                         en: "✖ A carton cannot be installed: open it and scan the part. Nothing recorded" }
        /// A group of a pallet's row: the carton `{sscc}` inside it.
        carton_group { zh: "内箱 {sscc}",
                       en: "Inner carton {sscc}" }
        carton_part_received { zh: "✔ 已收货",
                               en: "✔ received" }
        carton_part_repeated { zh: "✔ 之前已记录收货",
                               en: "✔ already recorded as received" }
        carton_part_claim { zh: "⚠ 未移动，只记录为声明：",
                            en: "⚠ did not move, recorded as a claim only: " }
        carton_part_refused { zh: "✖ 未移动，被拒绝：",
                              en: "✖ did not move, refused: " }
        carton_part_conflict { zh: "✖ 冲突，疑似克隆：",
                               en: "✖ conflict, suspected clone: " }
        carton_part_flagged { zh: "✖ 已收货，但此码疑似克隆：请把配件放到一边",
                              en: "✖ received, but this code is a suspected clone: put the part aside" }
        carton_part_recalled { zh: "✖ 已收货，但此配件已被召回：",
                               en: "✖ received, but this part is recalled: " }
        /// `{sscc}` and the `{n}` parts whose receiving was undone.
        carton_undone { zh: "↶ 已撤销：箱 {sscc} 的收货记录（{n} 件）已作废",
                        en: "↶ Undone: carton {sscc}'s receiving ({n} parts) is withdrawn" }
        /// Before why one part's correction was refused: its `{code}`.
        carton_undo_refused { zh: "无法撤销整箱，未撤销任何配件。配件 {code}：",
                              en: "Cannot undo the carton; no part was undone. For {code}: " }
        // Packing records on the dashboard (cartons and pallets the maker packed).
        cartons_title { zh: "装箱记录",
                        en: "Packing records" }
        cartons_hint { zh: "输入箱号（SSCC，18 位数字）、“(00)”加箱号，或扫描箱标签上的链接。",
                       en: "Type the carton's SSCC (18 digits), “(00)” and the digits, or scan the link on its label." }
        cartons_field { zh: "箱号",
                        en: "Carton number" }
        cartons_find { zh: "查看装箱记录",
                       en: "Show the packing record" }
        cartons_link { zh: "您最近的装箱记录",
                       en: "Your recent packing records" }
        cartons_recent { zh: "最近的装箱记录（最新的在前）",
                         en: "Recent packing records (newest first)" }
        cartons_none { zh: "还没有装箱记录。",
                       en: "No packing records yet." }
        cartons_older { zh: "更早的记录",
                        en: "Older records" }
        /// A number whose last digit is not its check digit: `{found}` and `{expected}`.
        carton_check_digit { zh: "箱号的最后一位是校验位：按前 17 位应为“{expected}”，这里是“{found}”。请与标签核对。",
                             en: "The last digit of a carton number is its check digit: the first 17 digits give “{expected}”, not “{found}”. Compare it with the label." }
        carton_invalid { zh: "这不是箱号：箱号（SSCC）是 18 位数字，也可以是“(00)”加 18 位数字，或箱标签上的链接。",
                         en: "This is no carton number: an SSCC has 18 digits; “(00)” and the 18 digits, or the link on the carton's label, also do." }
        carton_problem_code { zh: "错误代码",
                              en: "Error code" }
        carton_heading { zh: "装箱记录：",
                         en: "Packing record: " }
        carton_packed { zh: "装箱方和时间",
                        en: "Packed by, and when" }
        carton_in { zh: "装在这个箱（托盘）里",
                    en: "Packed in" }
        carton_not_in { zh: "没有装在其他箱里",
                        en: "Not packed in another carton" }
        carton_cartons { zh: "箱内的箱",
                         en: "Cartons inside" }
        carton_codes { zh: "箱内的配件",
                       en: "Parts inside" }
        carton_counts { zh: "直接装入的配件：{direct} 件；连同内箱：共 {total} 件",
                        en: "Parts directly inside: {direct}; in all, with the cartons inside: {total}" }
        carton_product { zh: "产品",
                         en: "Product" }
        carton_serial { zh: "序列号",
                        en: "Serial" }
        carton_custody { zh: "当前状态",
                         en: "Where it is now" }
        carton_codes_in_inner { zh: "内有配件 {n} 件",
                                en: "parts inside: {n}" }
        carton_label { zh: "打印箱标签",
                       en: "Print its label" }
        carton_in_pallet { zh: "已装入托盘",
                           en: "packed in a pallet" }
    }
}

impl Texts {
    /// What is wrong with typed numbers, in this language.
    pub fn typed_problem(&self, e: &crate::typed_input::TypedError) -> String {
        use crate::typed_input::TypedError as E;
        match e {
            E::GtinEmpty => self.typed_gtin_empty.to_owned(),
            E::GtinChar(ch) => self.typed_gtin_char.replace("{ch}", &ch.to_string()),
            E::GtinLength(n) => self.typed_gtin_length.replace("{n}", &n.to_string()),
            E::GtinCheckDigit { expected } => self
                .typed_gtin_check
                .replace("{digit}", &expected.to_string()),
            E::SerialEmpty => self.typed_serial_empty.to_owned(),
            E::SerialChar(ch) => self.typed_serial_char.replace("{ch}", &ch.to_string()),
            E::SerialTooLong(n) => self.typed_serial_long.replace("{n}", &n.to_string()),
        }
    }

    /// An error page's heading and sentence for an HTTP status.
    pub fn error(&self, status: u16) -> &Headline {
        match status {
            404 => &self.error_not_found,
            405 => &self.error_method,
            408 => &self.error_timeout,
            413 => &self.error_too_large,
            429 => &self.error_rate_limited,
            503 => &self.error_busy,
            500..=599 => &self.error_internal,
            _ => &self.error_bad_request,
        }
    }

    /// A verdict's words by its code. A code without words is a bug (the tests enumerate
    /// [`VERDICTS`](crate::verdict::VERDICTS)): logged, and shown with `data_error`'s words, which
    /// claim nothing about the part.
    pub fn verdict(&self, code: &str) -> &Headline {
        self.verdicts.named(code).unwrap_or_else(|| {
            tracing::error!(code, "bug: a verdict without words on the pages (i18n.rs)");
            &self.verdicts.data_error
        })
    }

    pub fn severity(&self, s: Severity) -> &'static str {
        match s {
            Severity::Ok => self.severity_ok,
            Severity::Info => self.severity_info,
            Severity::Warning => self.severity_warning,
            Severity::Danger => self.severity_danger,
        }
    }

    pub fn advice(&self, s: Severity) -> Option<&'static str> {
        match s {
            Severity::Danger => Some(self.advice_danger),
            Severity::Warning => Some(self.advice_warning),
            _ => None,
        }
    }

    /// Where the part is, in words.
    pub fn custody(&self, custody: &Custody) -> &'static str {
        self.states.of(custody)
    }

    /// A custody state's words by its [`Custody::name`], as the verdict's summary carries it. A
    /// name without words is a bug: logged, and shown as the name itself.
    pub fn state<'a>(&self, name: &'a str) -> &'a str {
        self.states.named(name).copied().unwrap_or_else(|| {
            tracing::error!(
                name,
                "bug: a custody state without words on the pages (i18n.rs)"
            );
            name
        })
    }

    /// Why a VIN was refused, in this language.
    pub fn vin_error(&self, e: &registry::vin::VinError) -> String {
        let why = match e {
            registry::vin::VinError::Length(n) => self.vin_length.replace("{n}", &n.to_string()),
            registry::vin::VinError::BadChar { pos, ch } => self
                .vin_character
                .replace("{pos}", &pos.to_string())
                .replace("{ch}", &ch.to_string()),
            registry::vin::VinError::CheckDigit { found, expected } => self
                .vin_unverified
                .replace(" {vin}", "")
                .replace("{found}", &found.to_string())
                .replace("{expected}", &expected.to_string()),
        };
        format!("{}{why}", self.bad_vin)
    }

    pub fn step(&self, step: Step) -> &'static str {
        self.steps.of(step)
    }

    /// A conflict's kind as a short label.
    pub fn conflict_kind(&self, kind: ConflictKind) -> &'static str {
        self.evidence_kinds.conflicts.of(kind)
    }

    /// An evidence kind's words by the code a verdict gives it. A code without words is a bug:
    /// logged, and shown as the code itself.
    pub fn evidence_kind<'a>(&self, code: &'a str) -> &'a str {
        self.evidence_kinds.named(code).unwrap_or_else(|| {
            tracing::error!(
                code,
                "bug: an evidence kind without words on the pages (i18n.rs)"
            );
            code
        })
    }

    /// A conflict's explanation in this language; `None` where the registry's English is the
    /// language's.
    pub fn explain_conflict(&self, e: &registry::Evidence) -> Option<String> {
        let template = self.evidence_explanations.as_ref()?.conflicts.of(e.kind);
        Some(
            template
                .replace("{at}", &e.at.date())
                .replace("{since}", &e.since.date()),
        )
    }

    /// A scan anomaly's explanation in this language; `None` where the registry's English is the
    /// language's.
    pub fn explain_anomaly(&self, a: &registry::ScanAnomaly) -> Option<String> {
        let template = self.evidence_explanations.as_ref()?.scan_anomaly;
        Some(
            template
                .replace("{contexts}", &a.contexts.to_string())
                .replace("{hours}", &a.window_hours.to_string())
                .replace("{threshold}", &a.threshold.to_string()),
        )
    }
}

/// The icon beside a severity's words (never colour alone).
pub fn icon(s: Severity) -> &'static str {
    match s {
        Severity::Ok => "✔",
        Severity::Info => "ℹ",
        Severity::Warning => "⚠",
        Severity::Danger => "✖",
    }
}

pub fn severity_class(s: Severity) -> &'static str {
    match s {
        Severity::Ok => "ok",
        Severity::Info => "info",
        Severity::Warning => "warning",
        Severity::Danger => "danger",
    }
}

// One copy of each table in the binary, however many pages ask for it.
pub static ZH: Texts = Texts::ZH;
pub static EN: Texts = Texts::EN;

#[cfg(test)]
pub(super) mod tests {
    use std::collections::BTreeSet;

    use registry::{PartyId, Vin};
    use utoipa::OpenApi;

    use super::*;
    use crate::verdict::{FLAG_EVIDENCE, VERDICTS};

    /// Chinese words, not a table entry left in English.
    fn chinese(words: &str) -> bool {
        words
            .chars()
            .any(|c| ('\u{4e00}'..='\u{9fff}').contains(&c))
    }

    /// Both languages' words for one key: present, and translated.
    pub(in crate::pages) fn translated(key: &str, zh: &str, en: &str) {
        assert!(chinese(zh), "{key}: no Chinese words ({zh:?})");
        assert!(
            !en.is_empty() && en != zh,
            "{key}: no English words ({en:?})"
        );
    }

    #[test]
    fn every_verdict_has_words_in_both_languages() {
        for code in VERDICTS {
            let (Some(zh), Some(en)) = (ZH.verdicts.named(code), EN.verdicts.named(code)) else {
                panic!("{code} has no words");
            };
            translated(code, zh.headline, en.headline);
            translated(code, zh.meaning, en.meaning);
        }
    }

    /// One of each custody state. A new state stops the `match` from compiling: list it here too.
    fn every_custody_state() -> Vec<Custody> {
        let party = PartyId::parse("shop-1").unwrap();
        let states = vec![
            Custody::AtManufacturer,
            Custody::Held { by: party.clone() },
            Custody::InTransit {
                from: party.clone(),
                to: party.clone(),
            },
            Custody::Installed {
                vin: Vin::parse("LSVAU218XN2183294").unwrap(),
                by: party,
            },
            Custody::Destroyed,
            Custody::Voided,
        ];
        for state in &states {
            match state {
                Custody::AtManufacturer
                | Custody::Held { .. }
                | Custody::InTransit { .. }
                | Custody::Installed { .. }
                | Custody::Destroyed
                | Custody::Voided => {}
            }
        }
        states
    }

    #[test]
    fn every_custody_state_has_words_by_value_and_by_name_in_both_languages() {
        for state in every_custody_state() {
            let name = state.name();
            for t in [&ZH, &EN] {
                assert_eq!(t.states.named(name), Some(&t.custody(&state)), "{name}");
            }
            translated(name, ZH.custody(&state), EN.custody(&state));
        }
    }

    #[test]
    fn every_evidence_kind_a_verdict_lists_has_words_in_both_languages() {
        for kind in ConflictKind::ALL {
            for t in [&ZH, &EN] {
                assert_eq!(
                    t.evidence_kinds.named(kind.code()),
                    Some(t.conflict_kind(kind))
                );
            }
        }
        let codes = ConflictKind::ALL.map(ConflictKind::code);
        for code in codes.into_iter().chain(FLAG_EVIDENCE) {
            let (Some(zh), Some(en)) =
                (ZH.evidence_kinds.named(code), EN.evidence_kinds.named(code))
            else {
                panic!("evidence {code} has no words");
            };
            translated(code, zh, en);
        }
    }

    #[test]
    fn chinese_explanations_keep_every_placeholder() {
        let Some(zh) = &ZH.evidence_explanations else {
            panic!("the Chinese pages explain evidence in Chinese");
        };
        for kind in ConflictKind::ALL {
            let words = zh.conflicts.of(kind);
            assert!(chinese(words), "{}", kind.code());
            for placeholder in ["{at}", "{since}"] {
                assert!(
                    words.contains(placeholder),
                    "{}: {placeholder}",
                    kind.code()
                );
            }
        }
        assert!(chinese(zh.scan_anomaly));
        for placeholder in ["{contexts}", "{hours}", "{threshold}"] {
            assert!(zh.scan_anomaly.contains(placeholder), "{placeholder}");
        }
    }

    #[test]
    fn every_step_has_words_in_both_languages() {
        for step in Step::ALL {
            translated(step.as_str(), ZH.step(step), EN.step(step));
        }
    }

    /// Every error status the service documents, and those its connection layer answers.
    fn every_error_status() -> BTreeSet<u16> {
        let doc = serde_json::to_value(crate::openapi::ApiDoc::openapi()).unwrap();
        let mut statuses: BTreeSet<u16> = [400, 404, 405, 408, 413, 429, 431, 500, 503, 507].into();
        for item in doc["paths"].as_object().unwrap().values() {
            for op in item.as_object().unwrap().values() {
                if let Some(responses) = op["responses"].as_object() {
                    statuses.extend(responses.keys().filter_map(|k| k.parse::<u16>().ok()));
                }
            }
        }
        statuses.retain(|s| *s >= 400);
        statuses
    }

    #[test]
    fn every_status_the_error_page_maps_has_words_in_both_languages() {
        for t in [&ZH, &EN] {
            let own = [
                (404, &t.error_not_found),
                (405, &t.error_method),
                (408, &t.error_timeout),
                (413, &t.error_too_large),
                (429, &t.error_rate_limited),
                (503, &t.error_busy),
            ];
            for status in every_error_status() {
                // Any other 5xx is the service's fault; any other 4xx, the request's.
                let expected = own.iter().find(|(s, _)| *s == status).map_or(
                    if status >= 500 {
                        &t.error_internal
                    } else {
                        &t.error_bad_request
                    },
                    |(_, words)| *words,
                );
                assert_eq!(t.error(status), expected, "{status}");
            }
        }
        for status in every_error_status() {
            let (zh, en) = (ZH.error(status), EN.error(status));
            translated(&status.to_string(), zh.headline, en.headline);
            translated(&status.to_string(), zh.meaning, en.meaning);
        }
    }

    #[test]
    fn language_from_query_then_accept_language_then_chinese() {
        let mut h = HeaderMap::new();
        assert_eq!(Lang::choose(None, &h), Lang::Zh);
        h.insert(
            header::ACCEPT_LANGUAGE,
            "fr-FR, en-US;q=0.8, zh;q=0.5".parse().unwrap(),
        );
        assert_eq!(Lang::choose(None, &h), Lang::En);
        assert_eq!(Lang::choose(Some("zh-CN"), &h), Lang::Zh);
        h.insert(
            header::ACCEPT_LANGUAGE,
            "zh-CN,zh;q=0.9,en;q=0.8".parse().unwrap(),
        );
        assert_eq!(Lang::choose(None, &h), Lang::Zh);
        h.insert(header::ACCEPT_LANGUAGE, "en;q=0, de".parse().unwrap());
        assert_eq!(Lang::choose(None, &h), Lang::Zh);
    }
}
