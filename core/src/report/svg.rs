//! Small SVG line charts for the HTML report: axes, series, and shaded,
//! labelled fault windows.
//!
//! Written by hand: the charting library of the field (plotters) lays its
//! text out with a font backend (font-kit and the system's fontconfig, or
//! font files shipped with the binary); these charts only need lines and
//! `<text>` that the browser lays out itself.

use super::escape::markup as esc;

/// One line.
pub struct Series<'a> {
    /// Legend.
    pub name: &'a str,
    /// CSS colour.
    pub color: &'a str,
    /// (x seconds, y) points; `None` y values break the line.
    pub points: Vec<(f64, Option<f64>)>,
}

/// A shaded interval (a fault window).
pub struct Band {
    /// Start, seconds.
    pub from: f64,
    /// End, seconds.
    pub to: f64,
    /// Label.
    pub label: String,
}

fn nice_max(v: f64) -> f64 {
    if v <= 0.0 || !v.is_finite() {
        return 1.0;
    }
    let mag = 10f64.powf(v.log10().floor());
    for m in [1.0, 2.0, 2.5, 5.0, 10.0] {
        if v <= m * mag {
            return m * mag;
        }
    }
    10.0 * mag
}

/// A tick label with enough decimals for the axis's scale.
fn tick(v: f64, scale: f64) -> String {
    // Ticks are a quarter of the scale apart: two significant digits of that.
    let step = scale / 4.0;
    let decimals = (2.0 - step.log10().floor()).clamp(0.0, 8.0) as usize;
    let s = format!("{v:.decimals$}");
    if s.contains('.') {
        s.trim_end_matches('0').trim_end_matches('.').to_string()
    } else {
        s
    }
}

/// A line chart over `[0, x_max]` seconds; the y axis runs to `y_top` if
/// given, else to a round number above the data.
pub fn line_chart(
    title: &str,
    y_unit: &str,
    x_max: f64,
    y_top: Option<f64>,
    series: &[Series],
    bands: &[Band],
) -> String {
    let (w, h) = (760.0, 230.0);
    let (left, right, top, bottom) = (58.0, 12.0, 30.0, 40.0);
    let (pw, ph) = (w - left - right, h - top - bottom);
    let x_max = x_max.max(1.0);
    let y_data = series
        .iter()
        .flat_map(|s| s.points.iter().filter_map(|p| p.1))
        .fold(0.0f64, f64::max);
    let y_max = y_top.unwrap_or_else(|| nice_max(y_data * 1.05));
    let x = |v: f64| left + v / x_max * pw;
    let y = |v: f64| top + ph - v / y_max * ph;
    let mut s = format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 {w} {h}\" width=\"{w}\" height=\"{h}\" role=\"img\" aria-label=\"{}\" font-family=\"sans-serif\" font-size=\"11\">\n",
        esc(title)
    );
    s.push_str(&format!(
        "<text x=\"{left}\" y=\"18\" font-size=\"13\" font-weight=\"bold\">{}</text>\n",
        esc(title)
    ));
    for b in bands {
        let (x0, x1) = (x(b.from.clamp(0.0, x_max)), x(b.to.clamp(0.0, x_max)));
        s.push_str(&format!(
            "<rect x=\"{x0:.1}\" y=\"{top}\" width=\"{:.1}\" height=\"{ph}\" fill=\"#d9534f\" fill-opacity=\"0.13\"/>\n<text x=\"{:.1}\" y=\"{:.1}\" fill=\"#a94442\" font-size=\"10\">{}</text>\n",
            (x1 - x0).max(1.5),
            x0 + 2.0,
            top + 11.0,
            esc(&b.label)
        ));
    }
    for i in 0..=4 {
        let v = y_max * i as f64 / 4.0;
        let yy = y(v);
        s.push_str(&format!(
            "<line x1=\"{left}\" y1=\"{yy:.1}\" x2=\"{:.1}\" y2=\"{yy:.1}\" stroke=\"#ddd\"/>\n<text x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"end\">{}</text>\n",
            left + pw,
            left - 4.0,
            yy + 4.0,
            tick(v, y_max)
        ));
    }
    let x_step = nice_max(x_max / 8.0);
    let mut t = 0.0;
    while t <= x_max + 1e-9 {
        s.push_str(&format!(
            "<line x1=\"{0:.1}\" y1=\"{1:.1}\" x2=\"{0:.1}\" y2=\"{2:.1}\" stroke=\"#999\"/>\n<text x=\"{0:.1}\" y=\"{3:.1}\" text-anchor=\"middle\">{4}s</text>\n",
            x(t),
            top + ph,
            top + ph + 4.0,
            top + ph + 16.0,
            tick(t, x_max)
        ));
        t += x_step;
    }
    s.push_str(&format!(
        "<rect x=\"{left}\" y=\"{top}\" width=\"{pw}\" height=\"{ph}\" fill=\"none\" stroke=\"#999\"/>\n<text x=\"12\" y=\"{:.1}\" transform=\"rotate(-90 12 {:.1})\" text-anchor=\"middle\">{}</text>\n",
        top + ph / 2.0,
        top + ph / 2.0,
        esc(y_unit)
    ));
    for (i, se) in series.iter().enumerate() {
        let mut d = String::new();
        let mut pen_down = false;
        for (px, py) in &se.points {
            match py {
                Some(v) => {
                    d.push_str(&format!(
                        "{}{:.1},{:.1} ",
                        if pen_down { "L" } else { "M" },
                        x(*px),
                        y(*v)
                    ));
                    pen_down = true;
                }
                None => pen_down = false,
            }
        }
        if !d.is_empty() {
            s.push_str(&format!(
                "<path d=\"{}\" fill=\"none\" stroke=\"{}\" stroke-width=\"1.6\"/>\n",
                d.trim_end(),
                se.color
            ));
        }
        let lx = left + 10.0 + i as f64 * 150.0;
        let ly = h - 8.0;
        s.push_str(&format!(
            "<line x1=\"{lx:.1}\" y1=\"{0:.1}\" x2=\"{1:.1}\" y2=\"{0:.1}\" stroke=\"{2}\" stroke-width=\"3\"/>\n<text x=\"{3:.1}\" y=\"{4:.1}\">{5}</text>\n",
            ly - 4.0,
            lx + 18.0,
            se.color,
            lx + 22.0,
            ly,
            esc(se.name)
        ));
    }
    s.push_str("</svg>\n");
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_chart_has_its_series_bands_and_axes() {
        let svg = line_chart(
            "latency",
            "ms",
            30.0,
            None,
            &[Series {
                name: "p99",
                color: "#c00",
                points: vec![
                    (0.0, Some(1.0)),
                    (1.0, None),
                    (2.0, Some(3.0)),
                    (3.0, Some(4.0)),
                ],
            }],
            &[Band {
                from: 10.0,
                to: 15.0,
                label: "pod-kill <a>".into(),
            }],
        );
        assert!(svg.starts_with("<svg"));
        assert!(svg.contains("M58.0"), "a line starts");
        assert_eq!(svg.matches("<path").count(), 1);
        assert!(svg.contains("pod-kill &lt;a&gt;"), "labels are escaped");
        assert!(svg.trim_end().ends_with("</svg>"));
        assert_eq!(nice_max(7.3), 10.0);
        assert_eq!(tick(0.0025, 0.01), "0.0025");
        assert_eq!(tick(50.0, 100.0), "50");
        assert_eq!(tick(2.5, 5.0), "2.5");
        assert_eq!(nice_max(0.0), 1.0);
    }
}
