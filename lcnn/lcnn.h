// Umbrella header of the L-CNN library: all layers and the JSON model factory.
#pragma once

#include "lcnn/common.h"
#include "lcnn/factory.h"
#include "lcnn/fp_action_model.h"
#include "lcnn/lact.h"
#include "lcnn/lbilin.h"
#include "lcnn/lconv.h"
#include "lcnn/lconv_bilin.h"
#include "lcnn/lexp.h"
#include "lcnn/plaq.h"
#include "lcnn/poly.h"
#include "lcnn/trace.h"
