# Reference values for spillover.models.panel and spillover.inference.vcov, from R's plm on
# the Munnell (Produc) panel: log(gsp) ~ log(pcap) + log(pc) + log(emp) + unemp.
#
# Run from the repository root (needs Debian's r-cran-plm and r-cran-jsonlite):
#   Rscript tests/references/plm_panel.R
# Writes tests/references/plm_panel.json (full precision). Tests read the JSON, never R.
suppressPackageStartupMessages({
  library(plm)
  library(jsonlite)
})
data("Produc", package = "plm")
fm <- log(gsp) ~ log(pcap) + log(pc) + log(emp) + unemp
names_map <- c("(Intercept)" = "Intercept", "log(pcap)" = "log_pcap", "log(pc)" = "log_pc",
               "log(emp)" = "log_emp", "unemp" = "unemp")

fit <- function(model, effect = "individual", random.method = "swar", formula = fm) {
  m <- plm(formula, data = Produc, index = c("state", "year"), model = model, effect = effect,
           random.method = random.method)
  b <- coef(m)
  names(b) <- names_map[names(b)]
  v <- vcov(m)
  arellano <- if (model == "between") v * NA else
    vcovHC(m, method = "arellano", type = "HC0", cluster = "group")
  list(
    coef = as.list(b),
    se = as.list(setNames(sqrt(diag(v)), names(b))),
    se_arellano_hc0 = as.list(setNames(sqrt(diag(arellano)), names(b))),
    df_resid = df.residual(m),
    nobs = nobs(m),
    r2 = unname(r.squared(m))
  )
}

out <- list(
  meta = list(
    plm = as.character(packageVersion("plm")),
    r = R.version.string,
    formula = deparse(fm)
  ),
  pooling = fit("pooling"),
  within = fit("within"),
  within_twoways = fit("within", effect = "twoways"),
  random_swamy_arora = fit("random"),
  fd = fit("fd"),
  fd_no_intercept = fit("fd", formula = update(fm, . ~ . - 1)),
  between = fit("between")
)
write_json(out, "tests/references/plm_panel.json", digits = NA, auto_unbox = TRUE,
           pretty = TRUE)
