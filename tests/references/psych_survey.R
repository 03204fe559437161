# Reference values for spillover.survey (reliability, KMO, Bartlett, EFA, parallel analysis)
# from psych. Run from the repository root:
#
#   Rscript tests/references/psych_survey.R
#
# Writes tests/references/psych_survey_hs.csv (Holzinger-Swineford 1939, lavaan's copy,
# x1..x9, 301 pupils), tests/references/psych_survey_bfi.csv (psych's bfi, 25 items of
# 2800 respondents with missing answers; the reverse-keyed items recoded as 7 - x) and
# tests/references/psych_survey.json. Deterministic: re-running leaves all three files
# byte-identical (set.seed before the only simulation, fa.parallel).
suppressPackageStartupMessages({
  library(psych)
  library(GPArotation)
  library(jsonlite)
})

here <- "tests/references"
hs <- lavaan::HolzingerSwineford1939[, paste0("x", 1:9)]
write.csv(hs, file.path(here, "psych_survey_hs.csv"), row.names = FALSE)
hs <- read.csv(file.path(here, "psych_survey_hs.csv"))  # exactly what Python reads

data(bfi, package = "psychTools", envir = environment())
bfi <- bfi[, 1:25]
reverse <- c("A1", "C4", "C5", "E1", "E2", "O2", "O5")
bfi[, reverse] <- 7 - bfi[, reverse]
write.csv(bfi, file.path(here, "psych_survey_bfi.csv"), row.names = FALSE, na = "")
bfi <- read.csv(file.path(here, "psych_survey_bfi.csv"))

hs_constructs <- list(visual = paste0("x", 1:3), textual = paste0("x", 4:6),
                      speed = paste0("x", 7:9))
bfi_constructs <- lapply(c(A = "A", C = "C", E = "E", N = "N", O = "O"),
                         function(p) paste0(p, 1:5))

alpha_entry <- function(x) {
  a <- suppressWarnings(alpha(x, warnings = FALSE))
  list(raw = a$total$raw_alpha, std = a$total$std.alpha,
       feldt_lower = a$feldt$lower.ci[[1]], feldt_upper = a$feldt$upper.ci[[1]],
       n_obs = nrow(x),
       alpha_if_deleted = as.list(setNames(a$alpha.drop$raw_alpha, colnames(x))),
       std_alpha_if_deleted = as.list(setNames(a$alpha.drop$std.alpha, colnames(x))),
       r_drop = as.list(setNames(a$item.stats$r.drop, colnames(x))))
}

# omega total from a one-factor model on the correlation matrix: psych's omega() (fm =
# "minres", its default, and "ml"), and by hand from fa() iterated to convergence.
omega_entry <- function(x) {
  r <- cor(x, use = "pairwise")
  tight <- fa(r, 1, fm = "pa", min.err = 1e-14, max.iter = 10000, rotate = "none")
  u2 <- 1 - rowSums(unclass(tight$loadings)^2)
  om <- function(fm) suppressMessages(suppressWarnings(omega(r, 1, fm = fm, plot = FALSE)))
  list(pa_converged = (sum(r) - sum(u2)) / sum(r),
       minres = om("minres")$omega.tot, ml = om("ml")$omega.tot)
}

describe_entry <- function(x) {
  d <- describe(x, type = 3)
  list(n = d$n, mean = d$mean, sd = d$sd, min = d$min, max = d$max,
       skew = d$skew, kurtosis = d$kurtosis, items = colnames(x))
}

fa_entry <- function(r, nf, fm, rotate, n_obs, ...) {
  f <- suppressMessages(suppressWarnings(
    fa(r, nf, fm = fm, rotate = rotate, n.obs = n_obs, ...)))
  out <- list(loadings = unclass(f$loadings), communality = unname(f$communality),
              uniquenesses = unname(f$uniquenesses))
  if (!is.null(f$Phi)) out$phi <- unclass(f$Phi)
  out$structure <- unclass(f$Structure)
  out
}

# Rotations of a given unrotated solution with tight convergence, the same algorithms psych
# calls (stats::varimax; psych's kaiser + Promax, m = 4; GPArotation::oblimin, gam = 0).
tight_rotations <- function(l) {
  vm <- varimax(l, eps = 1e-14)
  h2 <- rowSums(l^2)
  w <- l / sqrt(h2)
  xx <- varimax(w, eps = 1e-14)
  x <- unclass(xx$loadings)
  q <- x * abs(x)^3
  u <- lm.fit(x, q)$coefficients
  u <- u %*% diag(sqrt(diag(solve(t(u) %*% u))))
  pro <- (x %*% u) * sqrt(h2)
  ut <- xx$rotmat %*% u
  ui <- solve(ut)
  ob <- oblimin(l, eps = 1e-8, maxit = 10000)
  list(varimax = list(loadings = unclass(vm$loadings)),
       promax = list(loadings = unname(pro), phi = ui %*% t(ui)),
       oblimin = list(loadings = unclass(ob$loadings), phi = ob$Phi,
                      converged = ob$convergence,
                      log10_gradient_norm = ob$Table[nrow(ob$Table), 3]))
}

efa_block <- function(x) {
  r <- cor(x)
  n <- nrow(x)
  out <- list(default = list(), converged = list())
  for (fm in c("pa", "ml")) for (rot in c("none", "varimax", "promax", "oblimin"))
    out$default[[fm]][[rot]] <- fa_entry(r, 3, fm, rot, n)
  pa <- fa(r, 3, fm = "pa", rotate = "none", min.err = 1e-14, max.iter = 10000)
  out$converged$pa <- list(unrotated = list(loadings = unclass(pa$loadings),
                                            communality = unname(pa$communality)))
  out$converged$pa <- c(out$converged$pa, tight_rotations(unclass(pa$loadings)))
  ml <- factanal(covmat = r, factors = 3, rotation = "none", n.obs = n,
                 control = list(nstart = 1, lower = 0.005,
                                opt = list(factr = 1, pgtol = 0, maxit = 10000)))
  lm <- unclass(ml$loadings)
  out$converged$ml <- c(list(unrotated = list(loadings = lm, uniquenesses = unname(ml$uniquenesses),
                                               objective = ml$criteria[["objective"]],
                                               statistic = unname(ml$STATISTIC),
                                               df = unname(ml$dof))),
                        tight_rotations(lm))
  out
}

options(mc.cores = 1)  # fa.parallel uses mclapply: serial, so set.seed fixes the draws
set.seed(20240501)
pa_hs <- fa.parallel(cor(hs), n.obs = nrow(hs), fm = "pa", fa = "both", n.iter = 2000,
                     SMC = TRUE, plot = FALSE, error.bars = FALSE, sim = TRUE)

out <- list(
  meta = list(r_version = R.version.string,
              packages = list(psych = as.character(packageVersion("psych")),
                              GPArotation = as.character(packageVersion("GPArotation")),
                              lavaan = as.character(packageVersion("lavaan")),
                              jsonlite = as.character(packageVersion("jsonlite"))),
              hs_constructs = hs_constructs, bfi_constructs = bfi_constructs,
              bfi_reverse_recoded = reverse),
  hs = list(
    describe = describe_entry(hs),
    alpha = lapply(c(hs_constructs, list(all = paste0("x", 1:9))),
                   function(v) alpha_entry(hs[, v])),
    omega = lapply(hs_constructs, function(v) omega_entry(hs[, v])),
    kmo = list(overall = KMO(hs)$MSA, items = as.list(KMO(hs)$MSAi)),
    bartlett = suppressMessages(cortest.bartlett(hs)),
    efa = efa_block(hs),
    parallel = list(pc_observed = pa_hs$pc.values, fa_observed = pa_hs$fa.values,
                    pc_simulated_mean = colMeans(pa_hs$values[, 1:9]),
                    fa_simulated_mean = colMeans(pa_hs$values[, 10:18]),
                    pc_simulated_sd = apply(pa_hs$values[, 1:9], 2, sd),
                    fa_simulated_sd = apply(pa_hs$values[, 10:18], 2, sd),
                    pc_simulated_q95 = apply(pa_hs$values[, 1:9], 2, quantile, 0.95),
                    fa_simulated_q95 = apply(pa_hs$values[, 10:18], 2, quantile, 0.95),
                    n_iter = 2000, nfact = pa_hs$nfact, ncomp = pa_hs$ncomp)),
  bfi = list(
    describe = describe_entry(bfi),
    alpha_pairwise = lapply(bfi_constructs, function(v) alpha_entry(bfi[, v])),
    alpha_listwise = lapply(bfi_constructs, function(v) alpha_entry(na.omit(bfi[, v]))),
    kmo_pairwise = list(overall = KMO(bfi)$MSA, items = as.list(KMO(bfi)$MSAi)),
    kmo_listwise = list(overall = KMO(na.omit(bfi))$MSA),
    bartlett_listwise = suppressMessages(cortest.bartlett(na.omit(bfi))),
    omega_listwise = lapply(bfi_constructs, function(v) omega_entry(na.omit(bfi[, v]))),
    # fa on raw data with missing answers: cor(use = "pairwise"), psych's defaults
    efa_pairwise = list(pa_oblimin = fa_entry(cor(bfi, use = "pairwise"), 5, "pa", "oblimin",
                                              nrow(bfi)),
                        ml_varimax = fa_entry(cor(bfi, use = "pairwise"), 5, "ml", "varimax",
                                              nrow(bfi))),
    n_complete = nrow(na.omit(bfi)))
)
write_json(out, file.path(here, "psych_survey.json"), digits = NA, auto_unbox = TRUE,
           pretty = TRUE)
