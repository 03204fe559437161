# Reference values for spillover.diagnostics.random_effects_lm (Baltagi, Song and Koh 2003 LM
# tests), from R's splm::bsktest, on
#   (1) the Munnell panel: log_gsp ~ log_pcap + log_pc + log_emp + unemp, 48 US states x 17
#       years, row-standardised queen contiguity (the inputs of splm_munnell.R:
#       splm_munnell_data.csv and splm_munnell_queen_edges.csv, written from spillover's
#       bundled data by splm_munnell_inputs.py);
#   (2) a simulated panel on the same W with neither random effects nor spatial error
#       correlation (48 states x 6 years, y = 1 + 0.5 x + e, e iid N(0, 1)), so that some
#       statistics are near zero or negative; its rows are stored in the JSON.
# For each: the five bsktest statistics and p-values as splm prints them, and the two ML fits
# the conditional tests rest on (spreml errors = "sem" for CLMmu, errors = "re" for
# CLMlambda: coefficients, lambda or phi, sigma2, logLik).
#
# Run from the repository root:  Rscript tests/references/splm_bsk.R
# Writes tests/references/splm_bsk.json (deterministic: set.seed(20240501)). Tests read the
# JSON and never need R.
suppressPackageStartupMessages({
  library(splm)
  library(spdep)
  library(jsonlite)
})
here <- "tests/references"
TESTS <- c("LMH", "LM1", "LM2", "CLMlambda", "CLMmu")

dat <- read.csv(file.path(here, "splm_munnell_data.csv"), stringsAsFactors = FALSE)
edges <- read.csv(file.path(here, "splm_munnell_queen_edges.csv"), stringsAsFactors = FALSE)
states <- sort(unique(dat$state))
dat <- dat[order(dat$state, dat$year), ]
B <- matrix(0, length(states), length(states), dimnames = list(states, states))
B[cbind(match(edges$from, states), match(edges$to, states))] <- 1
lw <- mat2listw(B, style = "W", row.names = states)

htest <- function(h) {
  # CLMlambda / CLMmu return 1 x 1 matrices: store plain numbers
  list(statistic = as.numeric(h$statistic), statistic_name = names(h$statistic),
       p_value = as.numeric(h$p.value), method = h$method, alternative = h$alternative)
}

ml_fit <- function(fm, data, errors) {
  m <- spreml(fm, data = data, index = c("state", "year"), w = lw, errors = errors,
              lag = FALSE)
  cf <- coef(m)
  list(errors = errors, names = names(cf), coef = unname(cf),
       errcomp = as.list(m$errcomp), sigma2_idios = m$sigma2$idios,
       loglik = as.numeric(m$logLik))
}

case <- function(fm, data) {
  out <- list(formula = paste(deparse(fm), collapse = ""), nobs = nrow(data),
              n_entities = length(unique(data$state)), n_periods = length(unique(data$year)))
  out$bsktest <- list()
  for (t in TESTS) {
    out$bsktest[[t]] <- htest(bsktest(fm, data = data, index = c("state", "year"),
                                      listw = lw, test = t))
  }
  # The restricted ML fits bsktest runs inside CLMmu and CLMlambda.
  out$ml <- list(sem = ml_fit(fm, data, "sem"), re = ml_fit(fm, data, "re"))
  out
}

set.seed(20240501)
years <- 2001:2006
sim <- expand.grid(year = years, state = states, stringsAsFactors = FALSE)[, c("state", "year")]
sim <- sim[order(sim$state, sim$year), ]
sim$x <- rnorm(nrow(sim))
sim$y <- 1 + 0.5 * sim$x + rnorm(nrow(sim))
rownames(sim) <- NULL

out <- list(
  meta = list(
    r_version = R.version.string,
    packages = lapply(c(splm = "splm", plm = "plm", spdep = "spdep", jsonlite = "jsonlite"),
                      function(p) as.character(packageVersion(p))),
    seed = 20240501L,
    weights = "queen contiguity of the 48 states (splm_munnell_queen_edges.csv), style W",
    note = paste("statistics and p-values exactly as bsktest returns them; see README.md",
                 "for how they map to the one-sided tests of the paper")
  ),
  munnell = case(log_gsp ~ log_pcap + log_pc + log_emp + unemp, dat),
  simulated = c(case(y ~ x, sim), list(rows = as.list(sim)))
)
write_json(out, file.path(here, "splm_bsk.json"), digits = NA, auto_unbox = TRUE, pretty = TRUE)
