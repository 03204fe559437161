# A small, independent R implementation of the fixed-effects spatial panel likelihoods
# (sourced by splm_produc.R; not run on its own). It exists because splm's time and two-way
# fixed effects apply W to the already demeaned y and X (W (J_N y_t)), whereas the textbook
# within transformation demeans the spatial lag itself (J_N W y_t; Lee and Yu 2010, Elhorst
# 2014). With a row-standardised W whose column sums are not all 1 the two differ, and so do
# the estimates. For individual effects they coincide (and equal splm's).
#
# Two conventions, both with the textbook demeaning:
#   direct          (Elhorst; Lee-Yu "direct approach"): Jacobian T log|I - a W|,
#                   sigma2 = SSE / (N T);
#   transformation  (Lee and Yu 2010 "transformation approach", the bias-corrected
#                   estimator for sigma2): effective sample n_eff and Jacobian
#                     individual: N (T - 1),       (T - 1) log|I - a W|
#                     time:       (N - 1) T,        T [log|I - a W| - log(1 - a)]
#                     twoways:    (N - 1) (T - 1),  (T - 1) [log|I - a W| - log(1 - a)]
#                   sigma2 = SSE / n_eff (rho and beta equal the direct ones for individual
#                   effects; they differ for time and two-way effects).
# Log-determinants from the eigenvalues of W. Estimates: 1-D concentrated likelihood in a (rho
# or lambda), maximised by optimize(tol = 1e-12), then OLS for beta. Standard errors: inverse
# of minus the numerical Hessian (numDeriv::hessian, Richardson) of the full likelihood in
# (a, beta, sigma2) at the estimates, i.e. observed information, not splm's expected one.

textbook_within <- function(M, effect) {
  switch(effect,
    individual = M - rowMeans(M),
    time = t(t(M) - colMeans(M)),
    twoways = t(t(M - rowMeans(M)) - colMeans(M)) + mean(M)
  )
}

# y: N x T matrix; X: named list of N x T matrices (already including W-lagged regressors for
# Durbin models); W: dense N x N row-standardised; omega: its eigenvalues.
textbook_fe <- function(y, X, W, omega, kind, effect, approach) {
  N <- nrow(y)
  TT <- ncol(y)
  Q <- function(M) as.vector(textbook_within(M, effect))
  yd <- Q(y)
  Wyd <- Q(W %*% y)
  Xd <- sapply(X, Q)
  WXd <- sapply(X, function(m) Q(W %*% m))
  lag <- kind %in% c("sar", "sdm")
  n_eff <- switch(paste(approach, effect),
    "transformation individual" = N * (TT - 1),
    "transformation time" = (N - 1) * TT,
    "transformation twoways" = (N - 1) * (TT - 1),
    N * TT
  )
  jac <- function(a) {
    ld <- sum(log(1 - a * omega))
    if (approach == "direct") return(TT * ld)
    switch(effect,
      individual = (TT - 1) * ld,
      time = TT * (ld - log(1 - a)),
      twoways = (TT - 1) * (ld - log(1 - a))
    )
  }
  design <- function(a) if (lag) Xd else Xd - a * WXd
  resid <- function(a, b) (yd - a * Wyd) - design(a) %*% b
  beta_of <- function(a) qr.coef(qr(design(a)), yd - a * Wyd)
  conc <- function(a) {
    sse <- sum(resid(a, beta_of(a))^2)
    jac(a) - n_eff / 2 * (log(2 * pi * sse / n_eff) + 1)
  }
  bounds <- 1 / range(omega)
  opt <- optimize(conc, c(bounds[1] + 1e-6, bounds[2] - 1e-6), maximum = TRUE, tol = 1e-12)
  a <- opt$maximum
  b <- as.numeric(beta_of(a))
  s2 <- sum(resid(a, b)^2) / n_eff
  full <- function(th) {
    k <- length(b)
    jac(th[1]) - n_eff / 2 * log(2 * pi * th[k + 2]) -
      sum(resid(th[1], th[2:(k + 1)])^2) / (2 * th[k + 2])
  }
  H <- numDeriv::hessian(full, c(a, b, s2))
  se <- sqrt(diag(solve(-H)))
  k <- length(b)
  bn <- names(X)
  sp <- if (lag) "rho" else "lambda"
  out <- list(approach = approach, effect = effect, n_eff = n_eff)
  out[[sp]] <- a
  out[[paste0(sp, "_se")]] <- se[1]
  out$coefficients <- named(b, bn)
  out$se <- named(se[2:(k + 1)], bn)
  out$sigma2 <- s2
  out$sigma2_se <- se[k + 2]
  out$loglik <- opt$objective
  out
}
