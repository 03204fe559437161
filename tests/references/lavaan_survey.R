# Reference values for spillover.survey.sem (CFA, SEM, fit indices, CR/AVE, Fornell-Larcker,
# HTMT) from R's lavaan.
#
# Run from the repository root (needs Debian's r-cran-lavaan and r-cran-jsonlite):
#   Rscript tests/references/lavaan_survey.R
# Writes tests/references/lavaan_survey.json (full precision) and
# tests/references/lavaan_political_democracy.csv (lavaan's PoliticalDemocracy data, so the
# Python tests fit the same rows). Tests read the JSON and the CSV, never R.
#
# Models (lavaan defaults: estimator = "ML", likelihood = "normal", information = "expected",
# se = "standard", no mean structure, first loading of each factor fixed to 1):
#   hs_cfa  the three-factor Holzinger-Swineford (1939) CFA of lavaan's tutorial
#   pd_sem  Bollen's (1989) political democracy SEM of lavaan's tutorial (three latent
#           variables, two regressions, six residual covariances)
#   hs_covariates  two HS factors, visual regressed on two observed covariates (age = ageyr +
#           agemo / 12, grade; fixed.x = TRUE, lavaan's default: their moments are fixed at
#           the sample values, df and baseline exclude them and logl is conditional on them);
#           grade has one NA, dropped listwise (lavaan's default), N = 300
#   hs_two_outcomes  two HS factors both regressed on x7: lavaan's sem() adds their residual
#           covariance (auto.cov.y = TRUE)
# Optimiser: nlminb with lavaan's defaults (rel.tol = 1e-10).
#
# Validity (hs_cfa): CR and AVE from the standardized loadings (std.all), the latent
# correlations (lavInspect "cor.lv") and HTMT computed here by hand from cor() of the items
# (Henseler, Ringle and Sarstedt 2015, eq. 6); semTools is not installed.
suppressPackageStartupMessages({
  library(lavaan)
  library(jsonlite)
})

here <- "tests/references"

param_rows <- function(fit) {
  pe <- parameterEstimates(fit)
  ss <- standardizedSolution(fit)
  list(
    lhs = pe$lhs, op = pe$op, rhs = pe$rhs,
    est = pe$est, se = pe$se, z = pe$z, pvalue = pe$pvalue,
    std_all = ss$est.std
  )
}

fit_measures <- function(fit) {
  keys <- c("chisq", "df", "pvalue", "baseline.chisq", "baseline.df", "cfi", "tli", "rmsea",
            "rmsea.ci.lower", "rmsea.ci.upper", "rmsea.pvalue", "srmr", "srmr_bentler", "crmr",
            "logl", "unrestricted.logl", "aic", "bic", "npar", "ntotal", "fmin")
  as.list(fitMeasures(fit)[keys])
}

describe <- function(fit, model) {
  list(
    model = model,
    nobs = lavInspect(fit, "nobs"),
    converged = lavInspect(fit, "converged"),
    iterations = lavInspect(fit, "iterations"),
    params = param_rows(fit),
    fit = fit_measures(fit),
    sample_cov = unname(lavInspect(fit, "sampstat")$cov),
    implied_cov = unname(fitted(fit)$cov),
    observed = colnames(lavInspect(fit, "sampstat")$cov)
  )
}

hs_model <- "visual =~ x1 + x2 + x3\ntextual =~ x4 + x5 + x6\nspeed =~ x7 + x8 + x9"
hs <- cfa(hs_model, data = HolzingerSwineford1939)

constructs <- list(visual = c("x1", "x2", "x3"), textual = c("x4", "x5", "x6"),
                   speed = c("x7", "x8", "x9"))
ss <- standardizedSolution(hs)
loadings <- lapply(names(constructs), function(f) ss$est.std[ss$op == "=~" & ss$lhs == f])
names(loadings) <- names(constructs)
cr <- sapply(loadings, function(l) sum(l)^2 / (sum(l)^2 + sum(1 - l^2)))
ave <- sapply(loadings, function(l) mean(l^2))
htmt_matrix <- function(r) {
  mono <- function(items) {
    block <- r[items, items]
    mean(block[upper.tri(block)])
  }
  out <- matrix(1, 3, 3, dimnames = list(names(constructs), names(constructs)))
  for (i in names(constructs)) for (j in names(constructs)) if (i != j) {
    hetero <- mean(r[constructs[[i]], constructs[[j]]])
    out[i, j] <- hetero / sqrt(mono(constructs[[i]]) * mono(constructs[[j]]))
  }
  out
}
r <- cor(HolzingerSwineford1939[, paste0("x", 1:9)])
# signed: the paper's eq. 6; absolute: semTools' htmt(absolute = TRUE) default since 0.5-6
# (x2 and x7 correlate -0.076, so the two differ for visual-speed)
htmt_signed <- htmt_matrix(r)
htmt_absolute <- htmt_matrix(abs(r))
cor_lv <- lavInspect(hs, "cor.lv")[names(constructs), names(constructs)]

pd_model <- "
  ind60 =~ x1 + x2 + x3
  dem60 =~ y1 + y2 + y3 + y4
  dem65 =~ y5 + y6 + y7 + y8
  dem60 ~ ind60
  dem65 ~ ind60 + dem60
  y1 ~~ y5
  y2 ~~ y4 + y6
  y3 ~~ y7
  y4 ~~ y8
  y6 ~~ y8
"
pd <- sem(pd_model, data = PoliticalDemocracy)

cov_model <- "visual =~ x1 + x2 + x3\ntextual =~ x4 + x5 + x6\nvisual ~ age + grade"
hs_age <- HolzingerSwineford1939
hs_age$age <- hs_age$ageyr + hs_age$agemo / 12
covariates <- sem(cov_model, data = hs_age)

outcomes_model <- "a =~ x1 + x2 + x3\nb =~ x4 + x5 + x6\na ~ x7\nb ~ x7"
outcomes <- sem(outcomes_model, data = HolzingerSwineford1939)
write.csv(PoliticalDemocracy, file.path(here, "lavaan_political_democracy.csv"),
          row.names = FALSE)

out <- list(
  meta = list(
    r_version = R.version.string,
    packages = list(lavaan = as.character(packageVersion("lavaan")),
                    jsonlite = as.character(packageVersion("jsonlite"))),
    estimator = "ML, likelihood normal (sample covariance with divisor N), expected information",
    optimizer = "nlminb, lavaan defaults",
    srmr = "srmr = srmr_bentler without mean structure",
    htmt = paste("Henseler, Ringle and Sarstedt (2015) eq. 6 from cor() of the items, computed",
                 "here; signed and absolute correlations")
  ),
  hs_cfa = c(describe(hs, hs_model), list(
    validity = list(
      constructs = constructs,
      loadings = loadings,
      cr = as.list(cr),
      ave = as.list(ave),
      cor_lv = unname(cor_lv),
      htmt_signed = unname(htmt_signed),
      htmt_absolute = unname(htmt_absolute)
    )
  )),
  pd_sem = describe(pd, pd_model),
  hs_covariates = describe(covariates, cov_model),
  hs_two_outcomes = describe(outcomes, outcomes_model)
)
write_json(out, file.path(here, "lavaan_survey.json"), digits = NA, auto_unbox = TRUE,
           pretty = TRUE)
