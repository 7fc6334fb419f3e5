# unity.mk — read after the Makefile of a tree `chamcc --emit-c --name model`
# wrote (tests/e2e/lib.sh: make -f Makefile -f unity.mk unity): libmodel.a
# from one translation unit that includes every C file of the tree, compiled
# with the tree's own variables (CC, TARGET_CFLAGS, CFLAGS, PIC, RT_OBJ) in
# one compiler run instead of one per file. The conformance tests build
# hundreds of small trees this way; the models and emitc_tree.sh build
# theirs file by file, as a user does.
UNITY_SRCS = $(KERNELS:.o=.c) model_model.c

unity: model_weights.o $(RT_OBJ)
	printf '#include "%s"\n' $(UNITY_SRCS) >unity.c
	$(CC) $(TARGET_CFLAGS) $(CFLAGS) $(PIC) -I. -c unity.c -o unity.o
	rm -f libmodel.a
	$(AR) rcs libmodel.a unity.o model_weights.o $(RT_OBJ)

.PHONY: unity
