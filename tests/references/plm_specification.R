# Reference values for spillover.diagnostics.specification, from R's plm on the Munnell
# (Produc) panel: log(gsp) ~ log(pcap) + log(pc) + log(emp) + unemp, 48 states x 17 years.
#
# Run from the repository root (needs Debian's r-cran-plm, r-cran-sandwich, r-cran-jsonlite):
#   Rscript tests/references/plm_specification.R
# Writes tests/references/plm_specification.json. Tests read the JSON and never need R.
suppressPackageStartupMessages({
  library(plm)
  library(jsonlite)
})
data("Produc", package = "plm")
# logs as columns: phtest(method = "aux") cannot parse log() terms in its auxiliary formula
Produc <- transform(Produc, lgsp = log(gsp), lpcap = log(pcap), lpc = log(pc), lemp = log(emp))
fm <- lgsp ~ lpcap + lpc + lemp + unemp

htest <- function(h) {
  list(
    statistic = unname(h$statistic),
    df = if (is.null(h$parameter)) NULL else unname(h$parameter),
    pvalue = unname(h$p.value),
    method = h$method
  )
}

specification_tests <- function(data) {
  fe <- plm(fm, data, model = "within")
  fe2 <- plm(fm, data, model = "within", effect = "twoways")
  re <- plm(fm, data, model = "random")
  pool <- plm(fm, data, model = "pooling")
  arellano <- function(x) vcovHC(x, method = "arellano")
  list(
    theta_re = unname(re$ercomp$theta),
    hausman = htest(phtest(fe, re)),
    hausman_aux = htest(phtest(fm, data, method = "aux")),
    hausman_aux_robust = htest(phtest(fm, data, method = "aux", vcov = arellano)),
    cd = htest(pcdtest(fe, test = "cd")),
    cd_lm = htest(pcdtest(fe, test = "lm")),
    cd_sclm = htest(pcdtest(fe, test = "sclm")),
    wooldridge_fd_h0_fe = htest(pwfdtest(fm, data, h0 = "fe")),
    wooldridge_fd_h0_fd = htest(pwfdtest(fm, data, h0 = "fd")),
    lm_bp = htest(plmtest(pool, type = "bp")),
    lm_honda = htest(plmtest(pool, type = "honda")),
    lm_bp_time = htest(plmtest(pool, effect = "time", type = "bp")),
    f_individual = htest(pFtest(fe, pool)),
    f_twoways = htest(pFtest(fe2, pool))
  )
}

# unbalanced variant: drop the rows with (year + state number) divisible by 7
state_no <- as.integer(factor(Produc$state, levels = unique(Produc$state)))
unbalanced <- Produc[(Produc$year + state_no) %% 7 != 0, ]
keep_ub <- c("cd", "cd_lm", "cd_sclm", "wooldridge_fd_h0_fe", "lm_bp", "lm_honda",
             "f_individual")
ub <- suppressWarnings(specification_tests(pdata.frame(unbalanced, index = c("state", "year"))))

out <- list(
  source = paste("R", R.version$major, ".", R.version$minor, ", plm", packageVersion("plm"),
                 "; data('Produc', package = 'plm');",
                 "formula log(gsp) ~ log(pcap) + log(pc) + log(emp) + unemp"),
  unbalanced_rule = "rows with (year + state number in data order) %% 7 == 0 dropped",
  data = Produc[, c("state", "year", "gsp", "pcap", "pc", "emp", "unemp")],
  balanced = specification_tests(pdata.frame(Produc, index = c("state", "year"))),
  unbalanced = ub[keep_ub]
)
write_json(out, "tests/references/plm_specification.json", digits = NA, auto_unbox = TRUE,
           pretty = TRUE, dataframe = "columns")
