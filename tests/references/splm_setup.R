# Shared set-up for the R reference scripts of the spatial panel estimators
# (sourced by splm_produc.R and spatialreg_produc.R; not run on its own).
#
# Provides
#   produc_panel()    plm's Produc (Munnell 1990, 48 states x 1970-1986) with a `state_abbr`
#                     column, in plm's order (states alphabetical by full name, then year);
#   states48_listw()  queen contiguity of the 48 states read from libpysal's states48.gal,
#                     reordered to Produc's state order, row-standardised (style "W");
#   helpers to turn R objects into JSON-ready named lists.
#
# Weights: libpysal/examples/us_income/states48.gal, whose ids are 0-based rows of usjoin.csv
# in the same folder (alphabetical state names), mapped to postal codes via us48.dbf.

suppressPackageStartupMessages({
  library(plm)
  library(spdep)
})

ref_dir <- function() {
  args <- commandArgs(trailingOnly = FALSE)
  f <- sub("^--file=", "", args[grepl("^--file=", args)])
  if (length(f) == 1L) dirname(normalizePath(f)) else normalizePath("tests/references")
}

# libpysal's us_income example folder inside the project's virtualenv (or $SPILLOVER_US_INCOME).
us_income_dir <- function() {
  env <- Sys.getenv("SPILLOVER_US_INCOME", "")
  if (nzchar(env)) return(env)
  roots <- c(normalizePath(file.path(ref_dir(), "..", "..")), getwd())
  hits <- Sys.glob(file.path(
    roots, ".venv", "lib", "python*", "site-packages", "libpysal", "examples", "us_income"
  ))
  if (length(hits) == 0L) stop("libpysal us_income example not found; set SPILLOVER_US_INCOME")
  hits[1]
}

# Produc's upper-case state names -> postal abbreviations, from R's datasets::state.name /
# state.abb. Produc spells Tennessee "TENNESSE".
state_abbr_map <- function(produc_names) {
  key <- toupper(gsub(" ", "_", datasets::state.name))
  key[key == "TENNESSEE"] <- "TENNESSE"
  abbr <- datasets::state.abb[match(produc_names, key)]
  if (anyNA(abbr)) stop("unmapped Produc states: ", paste(produc_names[is.na(abbr)], collapse = ", "))
  stats::setNames(abbr, produc_names)
}

produc_panel <- function() {
  data("Produc", package = "plm", envir = environment())
  Produc <- Produc[order(Produc$state, Produc$year), ]
  map <- state_abbr_map(levels(Produc$state))
  Produc$state_abbr <- unname(map[as.character(Produc$state)])
  rownames(Produc) <- NULL
  Produc
}

# Parse a GeoDa/PySAL .gal file: header "n" then pairs of lines "id k" / "nb_1 ... nb_k".
read_gal_ids <- function(path) {
  tok <- scan(path, what = character(), quiet = TRUE, sep = "\n")
  n <- as.integer(strsplit(trimws(tok[1]), "\\s+")[[1]][1])
  out <- vector("list", n)
  ids <- character(n)
  line <- 2L
  for (i in seq_len(n)) {
    head <- strsplit(trimws(tok[line]), "\\s+")[[1]]
    k <- as.integer(head[2])
    ids[i] <- head[1]
    out[[i]] <- if (k > 0) strsplit(trimws(tok[line + 1L]), "\\s+")[[1]] else character(0)
    line <- line + if (k > 0) 2L else 1L
  }
  stats::setNames(out, ids)
}

# Neighbour list keyed by state abbreviation: list(AL = c("FL", "GA", ...), ...).
# The .gal ids are 0-based row numbers of usjoin.csv (states in alphabetical order of name,
# Alabama = 0 ... Wyoming = 47), NOT of us48.dbf (whose rows start with Washington): mapped
# through usjoin.csv's STATE_FIPS to us48.dbf's STATE_ABBR. Checked against spdep::poly2nb
# (queen) on us48.shp in the reference scripts.
states48_neighbours <- function() {
  dir <- us_income_dir()
  dbf <- foreign::read.dbf(file.path(dir, "us48.dbf"), as.is = TRUE)
  usjoin <- utils::read.csv(file.path(dir, "usjoin.csv"))
  gal <- read_gal_ids(file.path(dir, "states48.gal"))
  if (length(gal) != nrow(usjoin)) stop("states48.gal and usjoin.csv differ in length")
  abbr_of <- function(id) {
    fips <- usjoin$STATE_FIPS[as.integer(id) + 1L]
    dbf$STATE_ABBR[match(as.integer(fips), as.integer(dbf$STATE_FIPS))]
  }
  nb <- lapply(gal, function(v) sort(abbr_of(v)))
  names(nb) <- abbr_of(names(gal))
  if (anyNA(names(nb)) || anyNA(unlist(nb))) stop("unmapped ids in states48.gal")
  nb[order(names(nb))]
}

# Queen contiguity recomputed from the us48.shp polygons (spdep::poly2nb, planar), keyed
# like states48_neighbours(); used only to cross-check the .gal file.
states48_poly2nb <- function() {
  shp <- sf::st_read(file.path(us_income_dir(), "us48.shp"), quiet = TRUE)
  old <- suppressMessages(sf::sf_use_s2(FALSE))
  on.exit(suppressMessages(sf::sf_use_s2(old)))
  nbq <- spdep::poly2nb(shp, queen = TRUE)
  q <- lapply(seq_along(nbq), function(i) sort(shp$STATE_ABBR[nbq[[i]]]))
  names(q) <- shp$STATE_ABBR
  q[order(names(q))]
}

# spdep listw (row-standardised) in the order `ids` (state abbreviations).
states48_listw <- function(ids, style = "W") {
  nbl <- states48_neighbours()
  if (!setequal(names(nbl), ids)) stop("weights ids and data ids differ")
  nb <- lapply(ids, function(s) sort(match(nbl[[s]], ids)))
  nb <- lapply(nb, as.integer)
  class(nb) <- "nb"
  attr(nb, "region.id") <- ids
  attr(nb, "sym") <- spdep::is.symmetric.nb(nb, verbose = FALSE, force = TRUE)
  spdep::nb2listw(nb, style = style)
}

# ---- JSON helpers -------------------------------------------------------------------------

pkg_versions <- function(pkgs) {
  stats::setNames(lapply(pkgs, function(p) as.character(utils::packageVersion(p))), pkgs)
}

# R coefficient names -> the Python column names of spillover.datasets.us_states().
# spatialreg's Durbin names "lag.log(pcap)" -> "W_log_pcap"; "(Intercept)" -> "Intercept".
py_name <- function(x) {
  x <- gsub("^lag\\.", "W_", x)
  x <- gsub("^(W_)?log\\((.*)\\)$", "\\1log_\\2", x)
  x[x == "(Intercept)"] <- "Intercept"
  x
}

named <- function(values, names_) {
  stats::setNames(as.list(unname(as.numeric(values))), names_)
}

matrix_json <- function(m, names_) {
  list(names = names_, values = unname(lapply(seq_len(nrow(m)), function(i) unname(m[i, ]))))
}
