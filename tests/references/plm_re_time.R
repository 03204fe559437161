# Reference values for RandomEffects(..., time_effects=True): random state effects plus fixed
# year effects (year dummies), Swamy-Arora variance components, from R's plm on the Munnell
# (Produc) panel: plm(log(gsp) ~ log(pcap) + log(pc) + log(emp) + unemp + factor(year),
# model = "random"), on the balanced panel (48 states x 17 years). On unbalanced panels plm's
# Swamy-Arora with year dummies stops ("system is exactly singular" in the Between step: the
# entity means of the year dummies are collinear with the intercept), so the unbalanced case
# is tested against the dense GLS formula in tests/models/test_random_time.py instead.
#
# Run from the repository root (needs Debian's r-cran-plm and r-cran-jsonlite):
#   Rscript tests/references/plm_re_time.R
# Writes tests/references/plm_re_time.json (full precision). Tests read the JSON, never R.
suppressPackageStartupMessages({
  library(plm)
  library(jsonlite)
})
data("Produc", package = "plm")
fm <- log(gsp) ~ log(pcap) + log(pc) + log(emp) + unemp + factor(year)
names_map <- c("(Intercept)" = "Intercept", "log(pcap)" = "log_pcap", "log(pc)" = "log_pc",
               "log(emp)" = "log_emp", "unemp" = "unemp")

fit <- function(data) {
  m <- plm(fm, data = data, index = c("state", "year"), model = "random",
           random.method = "swar")
  keep <- names(coef(m)) %in% names(names_map)
  b <- coef(m)[keep]
  se <- sqrt(diag(vcov(m)))[keep]
  names(b) <- names(se) <- names_map[names(b)]
  ec <- m$ercomp
  theta <- ec$theta
  states <- as.character(index(m)[[1]])
  list(
    coef = as.list(b),
    se = as.list(se),
    sigma2_mu = unname(ec$sigma2["id"]),
    sigma2_e = unname(ec$sigma2["idios"]),
    # theta per observation (one value per state when unbalanced), first row of each state
    theta = if (length(theta) == 1) unname(theta) else
      as.list(setNames(unname(theta)[!duplicated(states)], states[!duplicated(states)])),
    nobs = nobs(m),
    df_resid = df.residual(m)
  )
}

out <- list(
  meta = list(
    plm = as.character(packageVersion("plm")),
    r = R.version.string,
    formula = deparse(fm)
  ),
  balanced = fit(Produc)
)
write_json(out, "tests/references/plm_re_time.json", digits = NA, auto_unbox = TRUE,
           pretty = TRUE)
