# Reference for spillover.survey.Mediation(engine="sem"): lavaan ML path estimates, their
# standard errors (expected information, N) and delta-method indirect effects (":=").
# Data: tests/references/mediation_survey.csv, written by
#   .venv/bin/python -c "from spillover.survey.mediation import example_survey; example_survey(n=240, seed=3).to_csv('tests/references/mediation_survey.csv', index=False, float_format='%.17g')"
# Run from the repository root: Rscript tests/references/lavaan_mediation.R
suppressPackageStartupMessages({library(lavaan); library(jsonlite)})
d <- read.csv("tests/references/mediation_survey.csv")

models <- list(
  parallel = "
    transfer ~ a1*environment + size
    harvest ~ a2*environment + size
    spillover ~ cp*environment + b1*transfer + b2*harvest + size
    transfer ~~ harvest
    ind1 := a1*b1
    ind2 := a2*b2
    total_indirect := a1*b1 + a2*b2
    total := cp + a1*b1 + a2*b2
  ",
  serial = "
    transfer ~ a1*environment + size
    harvest ~ a2*environment + d21*transfer + size
    spillover ~ cp*environment + b1*transfer + b2*harvest + size
    ind1 := a1*b1
    ind2 := a2*b2
    ind3 := a1*d21*b2
    total_indirect := a1*b1 + a2*b2 + a1*d21*b2
    total := cp + a1*b1 + a2*b2 + a1*d21*b2
  "
)

out <- list(meta = list(lavaan = as.character(packageVersion("lavaan")),
                        R = R.version.string,
                        options = "sem(model, data, estimator='ML', se='standard', information='expected', fixed.x=TRUE)"))
for (name in names(models)) {
  fit <- sem(models[[name]], data = d, estimator = "ML", se = "standard",
             information = "expected", fixed.x = TRUE)
  pe <- parameterEstimates(fit)
  reg <- pe[pe$op == "~", ]
  def <- pe[pe$op == ":=", ]
  out[[name]] <- list(
    regressions = list(lhs = reg$lhs, rhs = reg$rhs, est = reg$est, se = reg$se),
    defined = list(name = def$lhs, est = def$est, se = def$se)
  )
}
write_json(out, "tests/references/lavaan_mediation.json", digits = NA, auto_unbox = TRUE, pretty = TRUE)
