//! What to change when a label does not fit: remedies the tool accepts, each checked by placing the
//! label again with it, so following the advice an error gives makes the label print.
//!
//! A remedy is one of: a smaller module (the largest that fits; every smaller one the tool accepts
//! fits too, as a smaller symbol leaves the text more room), a lower error correction level (the
//! highest that fits, with a smaller module if it needs one), or a larger label (the smallest found
//! no smaller than this one in either direction). Raster formats print whole dots, so a module is
//! advised only if it still fits once rounded to the printer's dots.

use std::fmt;

use crate::error::LayoutError;
use crate::layout::{Label, Layout, Medium, ModuleSize};
use crate::qr::{EcLevel, QrMatrix};

/// The remedies for a label that does not fit; none where nothing the tool accepts helps.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Advice {
    pub remedies: Vec<Remedy>,
}

/// One change that makes the label fit.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Remedy {
    /// A module of at most this size.
    Module(ModuleSize),
    /// A lower error correction level, with a module of at most the given size where the current
    /// one is too large for it.
    Ec {
        ec: EcLevel,
        module: Option<ModuleSize>,
    },
    /// A label of at least this size.
    Label { width_mm: f32, height_mm: f32 },
}

impl fmt::Display for Remedy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let module = |f: &mut fmt::Formatter<'_>, m: &ModuleSize| match m {
            ModuleSize::Mm(mm) => write!(f, "a module of at most {mm:.2} mm"),
            ModuleSize::Dots(d) => write!(f, "a module of at most {d} dots"),
        };
        match self {
            Remedy::Module(m) => module(f, m),
            Remedy::Ec { ec, module: None } => write!(f, "error correction {ec}"),
            Remedy::Ec {
                ec,
                module: Some(m),
            } => {
                write!(f, "error correction {ec} and ")?;
                module(f, m)
            }
            Remedy::Label {
                width_mm,
                height_mm,
            } => write!(f, "a label of at least {width_mm} x {height_mm} mm"),
        }
    }
}

impl fmt::Display for Advice {
    /// Nothing when empty (a bare placement error); otherwise `; it fits with ...`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let Some((first, rest)) = self.remedies.split_first() else {
            return Ok(());
        };
        write!(f, "; it fits with {first}")?;
        for remedy in rest {
            write!(f, ", or with {remedy}")?;
        }
        Ok(())
    }
}

/// The error `error` (from placing `label` on `layout`) with the remedies that make it fit.
pub(crate) fn advise(
    layout: &Layout,
    label: &Label<'_>,
    medium: Medium,
    name_fits: &dyn Fn(&str) -> bool,
    mut error: LayoutError,
) -> LayoutError {
    let fits = |l: &Layout| {
        let Ok(symbol) = QrMatrix::size_for(label.uri.len(), l.ec) else {
            return false;
        };
        l.validate().is_ok()
            && l.place(label, symbol, medium.module_mm(l.module), name_fits)
                .is_ok()
    };
    let mut remedies = Vec::new();
    let smaller = largest_module(layout, &fits);
    if let Some(module) = smaller {
        remedies.push(Remedy::Module(module));
    }
    for ec in lower_levels(layout.ec) {
        let lower = Layout { ec, ..*layout };
        if fits(&lower) {
            remedies.push(Remedy::Ec { ec, module: None });
            break;
        }
        // A lower level is worth its weaker symbol only if it keeps a larger module.
        if let Some(module) = largest_module(&lower, &fits) {
            if smaller.is_none_or(|s| module_mm(module) > module_mm(s)) {
                remedies.push(Remedy::Ec {
                    ec,
                    module: Some(module),
                });
            }
            break;
        }
    }
    let (LayoutError::QrDoesNotFit {
        fits: size, advice, ..
    }
    | LayoutError::TextDoesNotFit {
        fits: size, advice, ..
    }) = &mut error
    else {
        return error;
    };
    // The size the layout worked out, checked, and grown a little where rounding fell short.
    let (w, h) = *size;
    let larger = (0..20).map(|i| {
        let grow = |mm: f32| ((mm + 0.1 * i as f32) * 10.0).round() / 10.0;
        Layout {
            width_mm: grow(w),
            height_mm: grow(h),
            ..*layout
        }
    });
    if let Some(l) = larger.into_iter().find(|l| fits(l)) {
        remedies.push(Remedy::Label {
            width_mm: l.width_mm,
            height_mm: l.height_mm,
        });
    }
    advice.remedies = remedies;
    error
}

/// The largest module smaller than `layout`'s that the tool accepts and that fits: hundredths of
/// a millimetre, or whole dots, down to the smallest accepted.
fn largest_module(layout: &Layout, fits: &dyn Fn(&Layout) -> bool) -> Option<ModuleSize> {
    let candidates: Vec<ModuleSize> = match layout.module {
        ModuleSize::Mm(mm) => {
            let min = (ModuleSize::MIN_MM * 100.0).round() as u32;
            let current = (mm * 100.0).round() as u32;
            (min..current.min(201))
                .rev()
                .map(|c| ModuleSize::Mm(c as f32 / 100.0))
                .collect()
        }
        ModuleSize::Dots(dots) => (ModuleSize::MIN_DOTS..dots.min(ModuleSize::MAX_DOTS + 1))
            .rev()
            .map(ModuleSize::Dots)
            .collect(),
    };
    candidates
        .into_iter()
        .find(|&module| fits(&Layout { module, ..*layout }))
}

/// A module size as a number to compare (modules advised for one layout are all in mm or all in
/// dots).
fn module_mm(module: ModuleSize) -> f32 {
    match module {
        ModuleSize::Mm(mm) => mm,
        ModuleSize::Dots(d) => d as f32,
    }
}

/// The error correction levels below `ec`, highest first.
fn lower_levels(ec: EcLevel) -> Vec<EcLevel> {
    let all = [EcLevel::H, EcLevel::Q, EcLevel::M, EcLevel::L];
    all.into_iter().skip_while(|&l| l != ec).skip(1).collect()
}
